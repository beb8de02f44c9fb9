// The leak matrix (tests/leak/README.md) through the Kotlin binding: for every case the
// exception's message, toString() and stack trace text must hold no secret in any encoding and
// no control character. Every case runs (token and list_clients).
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
    val cases = all
    val needles = LeakNeedles()
    val outputs = mutableListOf<Triple<String, String, String>>()
    val sent = mutableMapOf<String, String>() // case name -> the provider's log of its route
    for (c in cases) {
        val config = JsonObject().apply {
            add("cache", JsonObject().apply { addProperty("store", "memory") })
            add("profiles", JsonObject().apply { add("leak", c.profile(provider, privateKey)) })
        }
        val broker = Broker.fromJson(config.toString())
        admin("faults", c.fault())
        val texts = try {
            val result = if (c.action == "list_clients") broker.listClientsBlocking("leak") else broker.tokenBlocking("leak")
            listOf("result" to result.toString())
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
        val requests = admin("requests?route=${c.route}")
        needles.addFromProvider(com.google.gson.JsonArray(), JsonParser.parseString(requests).asJsonArray, listOf(c.id))
        sent[c.name] = requests
    }
    for (c in cases) for ((name, value) in c.secrets) needles.add("${c.name} secret $name", value, c.id)
    val echoes = JsonParser.parseString(admin("echoes")).asJsonArray
    needles.addFromProvider(com.google.gson.JsonArray().also { a -> echoes.drop(echoesFrom).forEach(a::add) }, com.google.gson.JsonArray(), listOf())
    // The control: the needles must find each secret of a case in what the broker sent for it,
    // or a clean result would prove nothing.
    val blind = cases.flatMap { c ->
        val found = needles.find(sent.getValue(c.name))
        c.secrets.keys.map { "${c.name} secret $it" }.filter { label -> found.none { it.startsWith("$label (") } }
    }
    expect(blind.isEmpty()) { "the needles miss secrets in the requests sent: ${blind.take(5)}" }
    val hits = outputs.flatMap { (name, label, text) -> needles.find(text).map { "$name $label: $it" } }
    println(leakSummary("kotlin", cases.size, outputs.size, hits.size))
    hits.take(20).forEach { println("  $it") }
    expect(hits.isEmpty()) { "${hits.size} leaks, first: ${hits.take(5).joinToString("; ")}" }
}
