// The needle rule of the leak matrix (tests/leak/README.md): random secrets, their encodings,
// 12-character windows, and the count of hits in outputs.
package dev.tokenbroker.test

import com.google.gson.Gson
import com.google.gson.JsonArray
import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import com.google.gson.JsonPrimitive
import java.io.File
import java.net.URLDecoder
import java.security.SecureRandom
import java.util.Base64

/** tests/leak/cases.json (`TB_LEAK_CASES`, else relative to the repository root). */
val leakCases: JsonObject by lazy {
    JsonParser.parseString(File(System.getenv("TB_LEAK_CASES") ?: "tests/leak/cases.json").readText()).asJsonObject
}
val leakWindow: Int by lazy { leakCases["window"].asInt }

private val random = SecureRandom()
private const val ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
private const val NON_ASCII = "éüß€Ω中ж"

/** A fresh secret of `kind` (`text` or `header`). */
fun leakSecret(kind: String): String {
    val chars = "/+&%=\"\\".toMutableList()
    if (kind == "text") repeat(2) { chars.add(NON_ASCII[random.nextInt(NON_ASCII.length)]) }
    while (chars.size < 31) chars.add(ALNUM[random.nextInt(ALNUM.length)])
    for (i in chars.size - 1 downTo 1) {
        val j = random.nextInt(i + 1)
        chars[i] = chars[j].also { chars[j] = chars[i] }
    }
    chars.add(1 + random.nextInt(chars.size - 1), ' ')
    return chars.joinToString("")
}

fun leakClientId(): String = "leak-" + (1..12).map { "0123456789abcdef"[random.nextInt(16)] }.joinToString("")

private fun urlEncode(v: String, space: String): String = buildString {
    for (b in v.toByteArray(Charsets.UTF_8)) {
        val c = (b.toInt() and 0xff).toChar()
        when {
            c in 'A'..'Z' || c in 'a'..'z' || c in '0'..'9' || c in "*-._" -> append(c)
            c == ' ' -> append(space)
            else -> append("%%%02X".format(b.toInt() and 0xff))
        }
    }
}

private fun b64(s: String) = Base64.getEncoder().encodeToString(s.toByteArray(Charsets.UTF_8))

/** Encodings 1–6 of `v`, and 7 (Basic) when the client id `id` is given. */
fun leakEncodings(v: String, id: String? = null): List<String> {
    val json = Gson().newBuilder().disableHtmlEscaping().create().toJson(v).let { it.substring(1, it.length - 1) }
    val ascii = json.map { c -> if (c.code < 128) c.toString() else "\\u%04x".format(c.code) }.joinToString("")
    val out = mutableListOf(v, urlEncode(v, "+"), urlEncode(v, "%20"), json, ascii, v.replace("\\", "\\\\"))
    if (id != null) {
        out.add(b64("${urlEncode(id, "+")}:${urlEncode(v, "+")}"))
        out.add(b64("${urlEncode(id, "%20")}:${urlEncode(v, "%20")}"))
        out.add(b64("$id:$v"))
    }
    return out.distinct()
}

private fun isControl(c: Char) = (c.code <= 0x1f && c != '\t' && c != '\n') || c.code in 0x7f..0x9f

/** The needle values of a run and the hits they make in outputs. */
class LeakNeedles {
    private val windows = HashMap<String, String>()

    /** Adds a needle value (`id`: its case's client id, for the Basic encodings). */
    fun add(label: String, value: String, id: String? = null) {
        for (e in leakEncodings(value, id)) {
            if (e.length <= leakWindow) windows[e] = label
            for (i in 0..e.length - leakWindow) windows[e.substring(i, i + leakWindow)] = label
        }
    }

    /** Echoed tokens, and the assertions and bearer tokens of requests naming one of `ids`. */
    fun addFromProvider(echoes: JsonArray, requests: JsonArray, ids: List<String>) {
        for (e in echoes) {
            add("echoed access_token", e.asJsonObject["access_token"].asString)
            add("echoed refresh_token", e.asJsonObject["refresh_token"].asString)
        }
        for (r in requests.map { it.asJsonObject }) {
            val auth = r["headers"]?.asJsonObject?.get("authorization")?.asString ?: ""
            val body = r["body"]?.asString ?: ""
            val path = r["path"].asString
            val basic = if (auth.startsWith("Basic ")) String(Base64.getDecoder().decode(auth.substring(6))) else ""
            if (ids.none { path.contains(it) || body.contains(it) || basic.contains(it) }) continue
            for (pair in body.split("&")) {
                if (!pair.startsWith("client_assertion=")) continue
                val parts = URLDecoder.decode(pair.substringAfter("="), Charsets.UTF_8).split(".")
                add("client_assertion payload", parts[1])
                add("client_assertion signature", parts[2])
            }
            if (auth.startsWith("Bearer ")) add("bearer token", auth.substring(7))
        }
    }

    /** The hits in one output: each needle value found (by label), and control characters. */
    fun find(text: String): List<String> {
        val found = LinkedHashMap<String, String>()
        for (i in 0..text.length - leakWindow) {
            val w = text.substring(i, i + leakWindow)
            windows[w]?.let { found.putIfAbsent(it, w) }
        }
        val hits = found.map { (label, w) -> "$label (${Gson().toJson(w)})" }.toMutableList()
        text.firstOrNull(::isControl)?.let { hits.add("control character U+%04X".format(it.code)) }
        return hits
    }
}

/** One case of the matrix with fresh secrets. */
class LeakCase(val name: String, val template: JsonObject, val echo: JsonObject) {
    val id = leakClientId()
    val secrets: Map<String, String> = template["secrets"].asJsonObject.entrySet().associate { (k, v) -> k to leakSecret(v.asString) }
    val route: String get() = template["route"].asString
    val action: String get() = template["action"].asString

    /** The profile template with its placeholders filled. */
    fun profile(provider: String, privateKey: String): JsonElement {
        fun fill(v: JsonElement): JsonElement = when {
            v.isJsonPrimitive && v.asJsonPrimitive.isString -> {
                var s = v.asString.replace("\${PROVIDER}", provider).replace("\${CLIENT_ID}", id)
                    .replace("\${PRIVATE_KEY}", privateKey)
                for ((name, value) in secrets) s = s.replace("\${SECRET:$name}", value)
                JsonPrimitive(s)
            }
            v.isJsonArray -> JsonArray().also { a -> v.asJsonArray.forEach { a.add(fill(it)) } }
            v.isJsonObject -> JsonObject().also { o -> v.asJsonObject.entrySet().forEach { (k, x) -> o.add(k, fill(x)) } }
            else -> v
        }
        return fill(template["profile"])
    }

    /** The echo fault for one call, with `align_on` from the case's secrets. */
    fun fault(): String {
        val fault = echo.deepCopy()
        fault.addProperty("route", route)
        fault.addProperty("kind", "echo")
        fault.addProperty("count", 1)
        if (echo.has("align_at")) {
            fault.add("align_on", JsonArray().also { a -> secrets.values.flatMap { leakEncodings(it, id) }.forEach(a::add) })
        }
        return fault.toString()
    }
}

/** Every case of the matrix with fresh secrets. */
fun leakExpandCases(): List<LeakCase> = leakCases["profiles"].asJsonArray.flatMap { p ->
    leakCases["echoes"].asJsonArray.mapIndexed { n, e ->
        val echo = e.asJsonObject
        LeakCase("${p.asJsonObject["id"].asString}/$n-${echo["as"].asString}", p.asJsonObject, echo)
    }
}

fun leakSummary(lang: String, cases: Int, outputs: Int, hits: Int) =
    "leak matrix ($lang): $cases cases, $outputs outputs checked, $hits hits"
