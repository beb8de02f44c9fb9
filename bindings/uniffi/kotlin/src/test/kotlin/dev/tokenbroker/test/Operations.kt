// The operation list (api/operations.json) against the Kotlin package: every operation is a
// method of Broker under its camelCase name (a suspend fun plus a non-suspend `...Blocking`
// twin when it does I/O), with the listed arguments, then the options as optional parameters
// in the listed order with the listed defaults (read from the generated declaration, which
// reflection cannot see), and every probe fails with the listed error kind and message.
package dev.tokenbroker.test

import com.google.gson.JsonElement
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import dev.tokenbroker.Broker
import dev.tokenbroker.TokenBrokerException
import kotlinx.coroutines.runBlocking
import java.io.File
import java.lang.reflect.InvocationTargetException
import kotlin.reflect.KFunction
import kotlin.reflect.full.callSuspendBy
import kotlin.reflect.full.memberFunctions
import kotlin.reflect.full.memberProperties

fun camel(snake: String): String =
    snake.split('_').mapIndexed { i, part -> if (i == 0) part else part.replaceFirstChar { it.uppercase() } }
        .joinToString("")

/** `OAuth` → `oauth`, `InvalidResponse` → `invalid_response`: the core's kind names. */
fun kindOf(e: TokenBrokerException): String =
    e::class.simpleName!!.replace(Regex("([a-z])([A-Z])"), "$1_$2").lowercase()

fun reasonOf(e: TokenBrokerException): String =
    e::class.memberProperties.first { it.name == "reason" }.getter.call(e) as String

/** The defaults of `name`'s parameters in the generated `BrokerInterface`: name → default text. */
fun declaredDefaults(source: String, name: String): Map<String, String>? {
    val start = source.indexOf("interface BrokerInterface")
    val body = source.substring(start, source.indexOf("\n}", start))
    val decl = Regex("""(?m)^\s*(?:suspend )?fun `$name`\((.*)\)""").find(body) ?: return null
    return Regex("""`(\w+)`: [^=,]+?(?: = ([^,]+))?(?:,|$)""").findAll(decl.groupValues[1])
        .associate { it.groupValues[1] to it.groupValues[2].trim() }
}

/** Whether the generated default text means the JSON default. */
fun sameDefault(text: String, json: JsonElement): Boolean = when {
    json.isJsonNull -> text == "null"
    json.asJsonPrimitive.isBoolean -> text == json.asBoolean.toString()
    json.asJsonPrimitive.isNumber -> text.toDoubleOrNull() == json.asDouble
    else -> text == "\"${json.asString}\""
}

fun checkOperation(op: JsonObject, functions: Map<String, List<KFunction<*>>>, source: String): List<String> {
    val name = camel(op["name"].asString)
    val io = op["io"].asBoolean
    val args = op["args"].asJsonArray.map { camel(it.asString) }
    val options = op["options"].asJsonObject.entrySet().map { camel(it.key) to it.value }
    val problems = mutableListOf<String>()
    val twins = listOf(name to io) + (if (io) listOf("${name}Blocking" to false) else emptyList())
    for ((fname, suspending) in twins) {
        val f = functions[fname]?.singleOrNull()
        if (f == null) {
            problems += "Broker.$fname is missing"
            continue
        }
        if (f.isSuspend != suspending) problems += "Broker.$fname: suspend is ${f.isSuspend}, expected $suspending"
        val params = f.parameters.drop(1) // the receiver
        val expected = args + options.map { it.first }
        if (params.map { it.name } != expected) problems += "Broker.$fname(${params.map { it.name }}), expected $expected"
        for (p in params) {
            val isOption = p.name !in args
            if (p.isOptional != isOption) problems += "Broker.$fname: ${p.name} optional=${p.isOptional}"
        }
        val defaults = declaredDefaults(source, fname)
        if (defaults == null) {
            problems += "Broker.$fname: no declaration in the generated source"
            continue
        }
        for ((option, value) in options) {
            val text = defaults[option]
            if (text == null || !sameDefault(text, value)) {
                problems += "Broker.$fname: $option defaults to $text, expected $value"
            }
        }
    }
    return problems
}

/** Calls `f` with `args` (by name), the rest left to their defaults; returns what it threw. */
fun callForError(broker: Broker, f: KFunction<*>, args: Map<String, String>): Throwable? {
    val params = f.parameters
    val call = mapOf(params[0] to broker) + args.map { (k, v) -> params.first { it.name == camel(k) } to v }
    return try {
        runBlocking { if (f.isSuspend) f.callSuspendBy(call) else f.callBy(call) }
        null
    } catch (e: InvocationTargetException) {
        e.targetException
    } catch (e: Throwable) {
        e
    }
}

fun operationList() {
    val api = JsonParser.parseString(File("api/operations.json").readText()).asJsonObject
    val source = File(System.getenv("TB_KOTLIN_SOURCE") ?: error("TB_KOTLIN_SOURCE is not set")).readText()
    val functions = Broker::class.memberFunctions.groupBy { it.name }
    val operations = api["operations"].asJsonArray.map { it.asJsonObject }
    expect(operations.size >= 17) { "api/operations.json lists ${operations.size} operations" }
    val problems = operations.flatMap { checkOperation(it, functions, source) }.toMutableList()

    val broker = Broker(alliance("probe-client", "probe-secret"))
    for (probe in api["probes"].asJsonArray.map { it.asJsonObject }) {
        val name = camel(probe["operation"].asString)
        val io = operations.first { camel(it["name"].asString) == name }["io"].asBoolean
        val args = probe["args"].asJsonObject.entrySet().associate { it.key to it.value.asString }
        for (fname in listOf(name) + (if (io) listOf("${name}Blocking") else emptyList())) {
            val f = functions[fname]?.singleOrNull() ?: continue // reported above
            val e = callForError(broker, f, args)
            val kind = probe["kind"].asString
            val text = probe["message_contains"].asString
            if (e !is TokenBrokerException) {
                problems += "probe $fname($args): expected a $kind error, got $e"
            } else if (kindOf(e) != kind || !reasonOf(e).contains(text)) {
                problems += "probe $fname($args): ${kindOf(e)} error \"${reasonOf(e)}\", expected $kind containing \"$text\""
            }
        }
    }
    expect(requestsBy("probe-client") == 0) { "a probe reached the provider" }
    expect(problems.isEmpty()) { problems.joinToString("\n  ", "operations.json:\n  ") }
}
