// The language-neutral conformance scenarios of tests/scenarios.json (format: tests/README.md)
// through the Kotlin package, as python/tests/test_scenarios.py runs them: every scenario, one
// after another (provider scenarios reset the provider and count its requests globally).
package dev.tokenbroker.test

import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import dev.tokenbroker.AccessToken
import dev.tokenbroker.Broker
import dev.tokenbroker.TokenBrokerException
import java.io.File
import kotlin.math.abs
import kotlin.math.roundToLong

val keysDir: String get() = System.getenv("TB_TEST_KEYS") ?: error("TB_TEST_KEYS is not set")

/** `value` with ${PROVIDER}, ${ISSUER} and ${KEYS} replaced in every string. */
fun fill(value: JsonElement): JsonElement = when {
    value.isJsonPrimitive && value.asJsonPrimitive.isString -> JsonPrimitive(
        value.asString.replace("\${PROVIDER}", provider).replace("\${ISSUER}", issuer).replace("\${KEYS}", keysDir),
    )
    value.isJsonArray -> JsonArray().apply { value.asJsonArray.forEach { add(fill(it)) } }
    value.isJsonObject -> JsonObject().apply { value.asJsonObject.entrySet().forEach { (k, v) -> add(k, fill(v)) } }
    else -> value
}

/** Runs one scenario; returns what differed from its `expect` (empty: passed). */
fun runScenario(scenario: JsonObject): List<String> {
    if (scenario["server"].asString == "provider") admin("reset", "{}")
    val config = JsonObject().apply {
        add("cache", JsonObject().apply { addProperty("store", "memory") })
        add("profiles", JsonObject().apply { add("p", fill(scenario["profile"])) })
    }
    // A config the broker refuses: every token step fails with its error.
    val built = try {
        Result.success(Broker.fromJson(config.toString()))
    } catch (e: TokenBrokerException) {
        Result.failure(e)
    }
    val tokens = mutableListOf<AccessToken>()
    var lastError: TokenBrokerException? = null
    for (step in scenario["steps"].asJsonArray.map { it.asJsonObject }) {
        when {
            step.has("fault") -> admin("faults", step["fault"].toString())
            step.has("admin_config") -> admin("config", step["admin_config"].toString())
            step.has("token") -> {
                val force = step["token"].asJsonObject["force_refresh"]?.asBoolean ?: false
                try {
                    tokens += built.getOrThrow().tokenBlocking("p", forceRefresh = force)
                    lastError = null
                } catch (e: TokenBrokerException) {
                    lastError = e
                }
            }
            else -> return listOf("unknown step $step")
        }
    }
    built.getOrNull()?.close()

    val expect = scenario["expect"]?.asJsonObject ?: JsonObject()
    val problems = mutableListOf<String>()
    val error = lastError
    if (expect.has("error_kind")) {
        val kind = expect["error_kind"].asString
        if (error == null) {
            problems += "expected a $kind error, the last token() succeeded"
        } else if (kindOf(error) != kind) {
            problems += "expected error_kind $kind, got ${kindOf(error)} (${reasonOf(error)})"
        }
        if (expect.has("oauth_error")) {
            val got = (error as? TokenBrokerException.OAuth)?.oauthError
            if (got != expect["oauth_error"].asString) problems += "expected oauth_error ${expect["oauth_error"]}, got $got"
        }
    } else if (error != null) {
        problems += "unexpected ${kindOf(error)} error (${reasonOf(error)})"
    }
    val last = tokens.lastOrNull()
    if (expect.has("token_type") && last?.tokenType() != expect["token_type"].asString) {
        problems += "token_type ${last?.tokenType()}, expected ${expect["token_type"]}"
    }
    if (expect.has("expires_in_approx")) {
        val approx = expect["expires_in_approx"].asLong
        val left = last?.remainingSeconds()?.roundToLong()
        if (left == null || abs(left - approx) > 60) problems += "expires in ${left}s, expected ${approx}s ± 60s"
    }
    if (expect.has("same_token")) {
        val same = if (tokens.isEmpty()) null else tokens.first().token() == tokens.last().token()
        if (same != expect["same_token"].asBoolean) {
            problems += "same_token $same (${tokens.size} token(s)), expected ${expect["same_token"]}"
        }
    }
    if (expect.has("provider_requests")) {
        val seen = JsonParser.parseString(admin("stats")).asJsonObject["requests"].asJsonObject
        for ((route, n) in expect["provider_requests"].asJsonObject.entrySet()) {
            val got = seen[route]?.asInt ?: 0
            if (got != n.asInt) problems += "provider_requests[$route] = $got, expected $n"
        }
    }
    return problems
}

fun scenarios() {
    val all = JsonParser.parseString(File("tests/scenarios.json").readText()).asJsonArray.map { it.asJsonObject }
    val ids = all.map { it["id"].asString }
    expect(ids.size >= 20 && ids.toSet().size == ids.size) { "scenario ids: $ids" }
    val failures = mutableListOf<String>()
    for (scenario in all) {
        val problems = runScenario(scenario)
        val id = scenario["id"].asString
        println("  ${if (problems.isEmpty()) "ok  " else "FAIL"} scenario $id")
        if (problems.isNotEmpty()) failures += "$id:\n    ${problems.joinToString("\n    ")}"
        admin("faults/clear", "{}")
    }
    expect(failures.isEmpty()) { "${failures.size} of ${all.size} scenarios failed:\n  ${failures.joinToString("\n  ")}" }
}
