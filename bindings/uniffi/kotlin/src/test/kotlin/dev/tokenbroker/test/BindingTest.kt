// End-to-end tests of the Kotlin binding against the shared test servers:
//   TB_TEST_PROVIDER  tests/provider/server.mjs (programmable provider, /_admin API)
//   TB_TEST_ISSUER    tests/oidc/server.mjs (panva's oidc-provider)
//   TB_DRIVE_LOGIN    tests/oidc/drive_login.mjs (plays the browser; prints the redirect URL)
// Run by `make -C bindings/uniffi test-kotlin`; prints "N passed, N failed" last.
package dev.tokenbroker.test

import dev.tokenbroker.Broker
import dev.tokenbroker.SecretStore
import dev.tokenbroker.TokenBrokerException
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.TimeoutCancellationException
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.util.Collections
import java.util.UUID
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit

val provider: String = System.getenv("TB_TEST_PROVIDER") ?: error("TB_TEST_PROVIDER is not set")
val issuer: String = System.getenv("TB_TEST_ISSUER") ?: error("TB_TEST_ISSUER is not set")
val driveLogin: String = System.getenv("TB_DRIVE_LOGIN") ?: "tests/oidc/drive_login.mjs"

// ------------------------------------------------------------------------------- helpers

val http: HttpClient = HttpClient.newHttpClient()

fun admin(path: String, body: String? = null): String {
    val request = HttpRequest.newBuilder(URI("$provider/_admin/$path"))
    if (body != null) {
        request.header("content-type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
    }
    val response = http.send(request.build(), HttpResponse.BodyHandlers.ofString())
    check(response.statusCode() in 200..299) { "admin $path: ${response.statusCode()} ${response.body()}" }
    return response.body()
}

/** A fresh confidential client on the test provider, so request counts are this test's own. */
fun newClient(prefix: String): Pair<String, String> {
    val n = UUID.randomUUID().toString().replace("-", "").take(12)
    val id = "$prefix-kt-$n"
    val secret = "secret-$n"
    admin("clients", """{"client_id":"$id","client_secret":"$secret"}""")
    return id to secret
}

/** Requests the test provider counted for `clientId` (`/_admin/stats` → by_client). */
fun requestsBy(clientId: String): Int {
    val stats = admin("stats")
    val byClient = stats.substringAfter("\"by_client\"")
    return Regex("\"${Regex.escape(clientId)}\":(\\d+)").find(byClient)?.groupValues?.get(1)?.toInt() ?: 0
}

fun alliance(id: String, secret: String, extra: String = "") = """
$extra
[cache]
store = "memory"

[profiles.aos]
provider = "alliance"
client_id = "$id"
client_secret = "$secret"
scopes = ["default"]
token_url = "$provider/API/v2/OAuth/token"
"""

val oidcWeb = """
[cache]
store = "memory"

[profiles.web]
provider = "oidc"
issuer = "$issuer"
client_id = "oidc-web"
client_secret = "oidc-web-secret"
grant = "authorization_code"
scopes = ["openid", "api:read"]
"""

const val REDIRECT = "http://127.0.0.1:53682/callback"

/** Runs drive_login.mjs on `url` (no --follow) and returns the redirect URL it stopped at. */
fun drive(url: String): String {
    val process = ProcessBuilder("node", driveLogin, url).redirectError(ProcessBuilder.Redirect.PIPE).start()
    val out = process.inputStream.bufferedReader().readText().trim()
    val err = process.errorStream.bufferedReader().readText()
    check(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0) { "drive_login failed: $err" }
    return out
}

/** A Keystore stand-in: remembers every call. */
class RecordingStore : SecretStore {
    val secrets = ConcurrentHashMap<String, String>()
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun getSecret(name: String): String? {
        calls.add("get $name")
        return secrets[name]
    }

    override fun setSecret(name: String, value: String) {
        calls.add("set $name")
        secrets[name] = value
    }

    override fun deleteSecret(name: String) {
        calls.add("delete $name")
        secrets.remove(name)
    }
}

/** A store whose writes fail the way a locked Keystore would. */
class BrokenStore : SecretStore {
    override fun getSecret(name: String): String? = null
    override fun setSecret(name: String, value: String): Unit = throw IllegalStateException("keystore is locked")
    override fun deleteSecret(name: String) {}
}

fun expect(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

inline fun <reified E : Throwable> expectThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e", e)
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

fun millisSince(start: Long) = (System.nanoTime() - start) / 1_000_000

// --------------------------------------------------------------------------------- tests

fun clientCredentialsThenCache() = runBlocking {
    val (id, secret) = newClient("aos")
    val broker = Broker(alliance(id, secret))
    expect(broker.cachedToken("aos") == null) { "nothing cached yet" }
    val first = broker.token("aos")
    expect(first.tokenType() == "Bearer") { first.tokenType() }
    expect(first.header() == "Bearer ${first.token()}") { "header" }
    expect(first.scopes() == listOf("default")) { "${first.scopes()}" }
    val ttl = first.expiresAtEpochSeconds() - System.currentTimeMillis() / 1000.0
    expect(ttl > 3500 && ttl < 3700) { "expires in $ttl s" }
    expect(!first.toString().contains(first.token())) { "toString shows the token: $first" }
    expect(first.toString().contains("redacted")) { "$first" }

    // Every other way to ask is answered from memory: no second request.
    val second = broker.token("aos", minTtl = 60.0)
    val blocking = broker.tokenBlocking("aos")
    val cached = broker.cachedToken("aos")
    expect(second.token() == first.token() && blocking.token() == first.token()) { "same token" }
    expect(cached?.token() == first.token()) { "cachedToken" }
    expect(requestsBy(id) == 1) { "provider saw ${requestsBy(id)} requests" }
    val stats = broker.stats()
    expect(stats.fetches == 1uL && stats.misses == 1uL && stats.hits == 3uL && stats.entries == 1uL) { "$stats" }

    // forceRefresh fetches again.
    val forced = broker.token("aos", forceRefresh = true)
    expect(forced.token() != first.token() && requestsBy(id) == 2) { "forceRefresh" }
}

fun fromJsonConfig() {
    val (id, secret) = newClient("json")
    val json = """{"cache":{"store":"memory"},"profiles":{"aos":{"provider":"alliance","client_id":"$id",
        "client_secret":"$secret","scopes":["default"],"token_url":"$provider/API/v2/OAuth/token"}}}"""
    val broker = Broker.fromJson(json)
    expect(broker.profileNames() == listOf("aos")) { "${broker.profileNames()}" }
    expect(broker.tokenBlocking("aos").tokenType() == "Bearer") { "token" }
    expect(requestsBy(id) == 1) { "requests" }
}

fun loginThroughAppSecretStore() = runBlocking {
    val store = RecordingStore()
    val broker = Broker.withSecretStore(oidcWeb, store)
    val pending = broker.beginLogin("web", REDIRECT)
    expect(pending.url().startsWith("$issuer/")) { pending.url() }
    expect(pending.url().contains("state=${pending.state()}")) { pending.url() }
    expect(pending.profile() == "web") { pending.profile() }
    val redirect = drive(pending.url())
    expect(redirect.startsWith("$REDIRECT?") && redirect.contains("code=")) { redirect }

    val token = broker.completeLogin(pending, redirect)
    expect("api:read" in token.scopes()) { "${token.scopes()}" }
    // One refresh token, and beside it the signed-in subject that refreshes must keep.
    val sets = store.calls.filter { it.startsWith("set refresh_token:") && !it.endsWith(":sub") }
    expect(sets.size == 1) { "store calls: ${store.calls}" }
    val name = sets[0].removePrefix("set ")
    expect(store.calls.contains("set $name:sub")) { "store calls: ${store.calls}" }
    expect(store.secrets[name]?.isNotEmpty() == true) { "refresh token stored" }
    expect(broker.cachedToken("web")?.token() == token.token()) { "login result is cached" }

    // The next fetch reads the refresh token from the app's store and writes the rotated one.
    val refreshed = broker.token("web", forceRefresh = true)
    expect(refreshed.token() != token.token()) { "a new access token" }
    expect(store.calls.contains("get $name")) { "store calls: ${store.calls}" }
    expect(store.calls.count { it == "set $name" } == 2) { "rotated refresh token stored: ${store.calls}" }

    broker.forget("web")
    expect(store.calls.last() == "delete $name" && store.secrets.isEmpty()) { "forget: ${store.calls}" }
}

fun configErrors() = runBlocking {
    // A broken profile does not fail the config: it fails when used, with its own error.
    val broken = Broker("[profiles.x]\nprovider = \"nope\"\n")
    val bad = expectThrows<TokenBrokerException.Config> { runBlocking { broken.token("x") } }
    expect(bad.location.contains("profile 'x'")) { "location: ${bad.location}" }
    expect(bad.reason.contains("nope")) { bad.reason }
    expectThrows<TokenBrokerException.Config> { Broker("not toml [") }
    expectThrows<TokenBrokerException.Config> { Broker.fromJson("[1, 2]") }
    val (id, secret) = newClient("cfg")
    val broker = Broker(alliance(id, secret))
    val unknown = expectThrows<TokenBrokerException.Config> { runBlocking { broker.token("nope") } }
    expect(unknown.reason.contains("no such profile")) { unknown.reason }
    expectThrows<TokenBrokerException.Config> { broker.cachedToken("aos", minTtl = -1.0) }
    expect(requestsBy(id) == 0) { "nothing sent" }
}

fun oauthError() = runBlocking {
    val (id, _) = newClient("oauth")
    val broker = Broker(alliance(id, "wrong-secret"))
    val e = expectThrows<TokenBrokerException.OAuth> { runBlocking { broker.token("aos") } }
    expect(e.oauthError == "invalid_client" && e.status == 401.toUShort()) { "$e" }
    expect(e.endpoint.endsWith("/API/v2/OAuth/token")) { e.endpoint }
    expect(!e.reason.contains("wrong-secret")) { "secret in message: ${e.reason}" }
    expect(broker.stats().errors == 1uL) { "${broker.stats()}" }
}

fun transportError() {
    val broker = Broker(
        """
        [http]
        max_retries = 0
        [cache]
        store = "memory"
        [profiles.down]
        provider = "alliance"
        client_id = "x"
        client_secret = "y"
        scopes = ["default"]
        token_url = "http://127.0.0.1:9/API/v2/OAuth/token"
        """.trimIndent(),
    )
    val e = expectThrows<TokenBrokerException.Transport> { broker.tokenBlocking("down") }
    expect(e.endpoint.startsWith("http://127.0.0.1:9/")) { e.endpoint }
}

fun invalidResponseError() = runBlocking {
    val (id, secret) = newClient("html")
    val broker = Broker(alliance(id, secret, "[http]\nmax_retries = 0"))
    admin("faults", """{"route":"alliance.token","kind":"html"}""")
    val e = expectThrows<TokenBrokerException.InvalidResponse> { runBlocking { broker.token("aos") } }
    expect(e.status == 500.toUShort()) { "$e" }
}

fun timeoutError() = runBlocking {
    val (id, secret) = newClient("slow")
    val broker = Broker(alliance(id, secret, "[http]\nmax_retries = 0\ntimeout = 0.5"))
    admin("faults", """{"route":"alliance.token","kind":"delay","delay_ms":2000}""")
    val e = expectThrows<TokenBrokerException.Timeout> { runBlocking { broker.token("aos") } }
    expect(e.afterSeconds > 0.4 && e.afterSeconds < 1.0) { "$e" }
}

fun rateLimitedError() = runBlocking {
    val (id, secret) = newClient("limited")
    val broker = Broker(alliance(id, secret, "[http]\ndeadline = 10"))
    admin("faults", """{"route":"alliance.token","kind":"status","status":429,"retry_after":"120"}""")
    val e = expectThrows<TokenBrokerException.RateLimited> { runBlocking { broker.token("aos") } }
    expect(e.retryAfterSeconds == 120.toULong() && e.status == 429.toUShort()) { "$e" }
}

fun interactionError() = runBlocking {
    // An authorization-code profile that never signed in has no refresh token to use.
    val broker = Broker.withSecretStore(oidcWeb, RecordingStore())
    expectThrows<TokenBrokerException.Interaction> { runBlocking { broker.token("web") } }
    // A redirect whose state is not the pending login's is refused before any exchange.
    val pending = broker.beginLogin("web", REDIRECT)
    val e = expectThrows<TokenBrokerException.Interaction> {
        runBlocking { broker.completeLogin(pending, "$REDIRECT?code=abc&state=forged&iss=$issuer") }
    }
    expect(e.reason.contains("state")) { e.reason }
    // The same for a form_post body.
    val form = expectThrows<TokenBrokerException.Interaction> {
        broker.completeLoginFormBlocking(pending, "code=abc&state=forged&iss=$issuer".toByteArray())
    }
    expect(form.reason.contains("state")) { form.reason }
}

fun cacheErrorFromAppStore() = runBlocking {
    // Whatever the app's store throws becomes a typed cache error.
    val broker = Broker.withSecretStore(oidcWeb, BrokenStore())
    val pending = broker.beginLogin("web", REDIRECT)
    val redirect = drive(pending.url())
    val e = expectThrows<TokenBrokerException.Cache> { runBlocking { broker.completeLogin(pending, redirect) } }
    expect(e.reason.contains("keystore is locked")) { e.reason }
}

fun cancellation() = runBlocking {
    val (id, secret) = newClient("cancel")
    val broker = Broker(alliance(id, secret))
    admin("faults", """{"route":"alliance.token","kind":"delay","delay_ms":3000}""")

    // withTimeout cancels the suspended call: it returns promptly, not after the 3 s delay.
    var start = System.nanoTime()
    expectThrows<TimeoutCancellationException> { runBlocking { withTimeout(300) { broker.token("aos") } } }
    expect(millisSince(start) < 1500) { "withTimeout took ${millisSince(start)} ms" }

    // Job.cancel does the same for a second caller (who joined the same fetch).
    start = System.nanoTime()
    val job = launch(Dispatchers.Default) { broker.token("aos") }
    delay(200)
    job.cancel()
    job.join()
    expect(job.isCancelled && millisSince(start) < 1500) { "cancel took ${millisSince(start)} ms" }

    // The core's fetch went on: the next caller gets its token without a second request.
    val token = withTimeoutOrNull(10_000) { broker.token("aos") }
    expect(token != null && requestsBy(id) == 1) { "requests: ${requestsBy(id)}" }
}

fun concurrentCallersShareOneFetch() = runBlocking {
    val (id, secret) = newClient("flight")
    val broker = Broker(alliance(id, secret))
    admin("faults", """{"route":"alliance.token","kind":"delay","delay_ms":300}""")
    val calls = (1..8).map { async(Dispatchers.Default, CoroutineStart.DEFAULT) { broker.token("aos").token() } }
    val tokens = calls.map { it.await() }.toSet()
    expect(tokens.size == 1 && requestsBy(id) == 1) { "tokens ${tokens.size}, requests ${requestsBy(id)}" }
}

// -------------------------------------------------------------------------------- runner

fun main() {
    val tests = listOf(
        "client credentials, then served from the cache" to ::clientCredentialsThenCache,
        "config from JSON" to ::fromJsonConfig,
        "auth code login through the app's SecretStore" to ::loginThroughAppSecretStore,
        "config errors" to ::configErrors,
        "oauth error" to ::oauthError,
        "transport error" to ::transportError,
        "invalid_response error" to ::invalidResponseError,
        "timeout error" to ::timeoutError,
        "rate limited error" to ::rateLimitedError,
        "interaction errors" to ::interactionError,
        "cache error from the app's store" to ::cacheErrorFromAppStore,
        "cancellation" to ::cancellation,
        "concurrent callers share one fetch" to ::concurrentCallersShareOneFetch,
        "leak matrix (tests/leak)" to ::leakMatrix,
        "every operation of api/operations.json, its options, defaults and probes" to ::operationList,
        "login through the loopback listener (onUrl), then logout" to ::loopbackLoginAndLogout,
        "deviceLogin (onCode)" to ::deviceLogin,
        "token(rejected = ...)" to ::rejectedToken,
        "client registration (RFC 7591/7592)" to ::clientRegistration,
        "cacheEntries and clearCache (file store)" to ::sharedTierEntries,
        "core events reach the app's Logger, without secrets" to ::logsReachTheAppLogger,
        // Last: scenarios reset the provider (clients the tests above registered are gone).
        "conformance scenarios (tests/scenarios.json)" to ::scenarios,
    )
    var passed = 0
    var failed = 0
    for ((name, test) in tests) {
        val start = System.nanoTime()
        try {
            test()
            passed++
            println("ok   $name (${millisSince(start)} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
            e.printStackTrace(System.out)
        }
        admin("faults/clear", "{}")
    }
    println("kotlin: $passed passed, $failed failed")
    System.exit(if (failed == 0) 0 else 1)
}
