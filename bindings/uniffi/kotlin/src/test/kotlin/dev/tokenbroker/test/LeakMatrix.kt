// The leak matrix (tests/leak/README.md) through the Kotlin binding: for every case the
// exception's message, toString() and stack trace text must hold no secret in any encoding and
// no control character. Cases whose action the binding lacks (list_clients) are skipped.
package dev.tokenbroker.test

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import dev.tokenbroker.Broker
import dev.tokenbroker.TokenBrokerException
import java.io.File

fun leakMatrix() {
    val keys = System.getenv("TB_TEST_KEYS") ?: error("TB_TEST_KEYS is not set")
    val privateKey = File(keys, "client-key.pem").readText()
    val echoesFrom = JsonParser.parseString(admin("echoes")).asJsonArray.size()
    val all = leakExpandCases()
    val cases = all.filter { it.action == "token" }
    val needles = LeakNeedles()
    val outputs = mutableListOf<Triple<String, String, String>>()
    for (c in cases) {
        val config = JsonObject().apply {
            add("cache", JsonObject().apply { addProperty("store", "memory") })
            add("profiles", JsonObject().apply { add("leak", c.profile(provider, privateKey)) })
        }
        val broker = Broker.fromJson(config.toString())
        admin("faults", c.fault())
        val texts = try {
            listOf("result" to broker.tokenBlocking("leak").toString())
        } catch (e: TokenBrokerException) {
            listOf("message" to (e.message ?: ""), "toString" to e.toString(), "stack trace" to e.stackTraceToString())
        }
        broker.close()
        val pending = JsonParser.parseString(admin("stats")).asJsonObject["faults_pending"].asJsonArray
            .count { it.asJsonObject["route"].asString == c.route }
        if (pending > 0) admin("faults/clear", "{}")
        expect(pending == 0) { "${c.name}: the echo fault was not used: $texts" }
        texts.forEach { (label, text) -> outputs.add(Triple(c.name, label, text)) }
        // What the broker sent (assertions, bearer tokens), read now: the log keeps 500 requests.
        needles.addFromProvider(com.google.gson.JsonArray(), JsonParser.parseString(admin("requests?route=${c.route}")).asJsonArray, listOf(c.id))
    }
    for (c in cases) for ((name, value) in c.secrets) needles.add("${c.name} secret $name", value, c.id)
    val echoes = JsonParser.parseString(admin("echoes")).asJsonArray
    needles.addFromProvider(com.google.gson.JsonArray().also { a -> echoes.drop(echoesFrom).forEach(a::add) }, com.google.gson.JsonArray(), listOf())
    val hits = outputs.flatMap { (name, label, text) -> needles.find(text).map { "$name $label: $it" } }
    println(leakSummary("kotlin", cases.size, outputs.size, hits.size) + " (${all.size - cases.size} cases skipped: list_clients)")
    hits.take(20).forEach { println("  $it") }
    expect(hits.isEmpty()) { "${hits.size} leaks, first: ${hits.take(5).joinToString("; ")}" }
}
