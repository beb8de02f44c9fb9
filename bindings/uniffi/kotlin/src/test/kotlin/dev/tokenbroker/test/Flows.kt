// The operations beyond token(): the loopback browser login, the device flow, logout,
// `rejected`, client registration, the shared tier's entries and the Logger, through real
// servers (oidc-provider for the browser login and RFC 7591, the test provider otherwise).
package dev.tokenbroker.test

import dev.tokenbroker.Broker
import dev.tokenbroker.DeviceCode
import dev.tokenbroker.DeviceCodeListener
import dev.tokenbroker.LogLevel
import dev.tokenbroker.LogRecord
import dev.tokenbroker.Logger
import dev.tokenbroker.LoginUrlListener
import dev.tokenbroker.TokenBrokerException
import dev.tokenbroker.setLogger
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import java.util.Collections
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit

val oidcPublic = """
[cache]
store = "memory"

[profiles.web]
provider = "oidc"
issuer = "$issuer"
client_id = "oidc-public"
auth_method = "none"
redirect_uri = "http://127.0.0.1/callback"
grant = "authorization_code"
scopes = ["api:read"]
"""

fun loopbackLoginAndLogout() = runBlocking {
    val broker = Broker(oidcPublic)
    val browser = CompletableFuture<Process>()
    val token = broker.login(
        "web",
        openBrowser = false,
        timeout = 30.0,
        onUrl = object : LoginUrlListener {
            // Starts the "browser" and returns at once: the listener answers it after this call.
            override fun onUrl(url: String) {
                browser.complete(ProcessBuilder("node", driveLogin, "--follow", url).start())
            }
        },
    )
    val process = browser.get(5, TimeUnit.SECONDS)
    expect(process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0) {
        "drive_login: ${process.errorStream.bufferedReader().readText()}"
    }
    expect(token.scopes() == listOf("api:read")) { "${token.scopes()}" }
    expect(broker.cachedToken("web")?.token() == token.token()) { "login result is cached" }
    val refreshed = broker.token("web", forceRefresh = true)
    expect(refreshed.token() != token.token()) { "the stored refresh token serves a refresh" }
    expect(broker.logout("web")) { "logout revokes at the server" }
    expect(broker.cachedToken("web") == null) { "logout forgets the token" }
    expectThrows<TokenBrokerException.Interaction> { runBlocking { broker.token("web") } }
    expect(!broker.logoutBlocking("web")) { "nothing left to revoke" }
    // A timeout the core refuses is a config error naming it; nothing is started.
    val bad = expectThrows<TokenBrokerException.Config> { broker.loginBlocking("web", timeout = -1.0) }
    expect(bad.reason.contains("timeout")) { bad.reason }
}

fun deviceLogin() = runBlocking {
    val (id, secret) = newClient("device")
    val broker = Broker(
        """
        [cache]
        store = "memory"
        [profiles.dev]
        provider = "oidc"
        client_id = "$id"
        client_secret = "$secret"
        token_url = "$provider/generic/token"
        device_url = "$provider/generic/device"
        grant = "device_code"
        scopes = ["read", "write"]
        """.trimIndent(),
    )
    val shown = CompletableFuture<DeviceCode>()
    val token = broker.deviceLogin(
        "dev",
        onCode = object : DeviceCodeListener {
            override fun onCode(code: DeviceCode) {
                shown.complete(code)
                Thread { admin("device/approve", """{"user_code":"${code.userCode}"}""") }.start()
            }
        },
    )
    val code = shown.get(1, TimeUnit.SECONDS)
    expect(code.verificationUri.endsWith("/generic/device/verify")) { code.verificationUri }
    expect(code.verificationUriComplete?.contains("user_code=") == true) { "${code.verificationUriComplete}" }
    expect(code.interval == 1.0 && code.expiresIn > 0 && code.scopes == listOf("read", "write")) { "$code" }
    expect(token.scopes() == listOf("read", "write")) { "${token.scopes()}" }
    expect(broker.cachedToken("dev")?.token() == token.token()) { "device login result is cached" }
}

fun rejectedToken() = runBlocking {
    val (id, secret) = newClient("rejected")
    val broker = Broker(alliance(id, secret))
    val first = broker.token("aos")
    val fresh = broker.token("aos", rejected = first)
    expect(fresh.token() != first.token() && requestsBy(id) == 2) { "a refused token is replaced" }
    // A second caller refused the same (old) token gets the new one without a request.
    val again = broker.tokenBlocking("aos", rejected = first)
    expect(again.token() == fresh.token() && requestsBy(id) == 2) { "requests: ${requestsBy(id)}" }
}

fun machine(scope: String, name: String = "tokenbroker kotlin test") = """{"grant_types":["client_credentials"],
    "response_types":[],"token_endpoint_auth_method":"client_secret_basic","scope":"$scope","client_name":"$name"}"""

fun clientRegistration() = runBlocking {
    val broker = Broker(
        "[cache]\nstore = \"memory\"\n[profiles.reg]\nprovider = \"oidc\"\nissuer = \"$issuer\"\nclient_id = \"registrar\"\n",
    )
    val created = broker.registerClient("reg", machine("api:read"))
    val secret = created.clientSecret() ?: error("no client secret")
    val rat = created.registrationAccessToken() ?: error("no registration access token")
    expect(created.metadata().contains("\"scope\":\"api:read\"")) { created.metadata() }
    for (text in listOf(created.toString(), created.toJson())) {
        expect(!text.contains(secret) && !text.contains(rat)) { "credential shown: $text" }
    }
    expect(created.toJson(includeSecrets = true).contains(secret)) { "toJson(includeSecrets)" }

    val read = broker.readClient("reg", created.clientId())
    expect(read.clientId() == created.clientId()) { read.toString() }
    val updated = broker.updateClientBlocking("reg", created.clientId(), machine("api:read", "renamed"))
    expect(updated.metadata().contains("\"client_name\":\"renamed\"")) { updated.metadata() }
    // The client's own credentials work until it is deleted.
    val issued = Broker(
        "[cache]\nstore = \"memory\"\n[profiles.issued]\nprovider = \"oidc\"\nissuer = \"$issuer\"\n" +
            "client_id = \"${created.clientId()}\"\nclient_secret = \"$secret\"\nscopes = [\"api:read\"]\n",
    )
    expect(issued.token("issued").scopes() == listOf("api:read")) { "the new client gets a token" }
    broker.deleteClient("reg", created.clientId())
    val gone = expectThrows<TokenBrokerException.OAuth> { runBlocking { issued.token("issued", forceRefresh = true) } }
    expect(gone.oauthError == "invalid_client") { "$gone" }
    // Deleting forgot the registration token: the client cannot be read through this broker.
    expectThrows<TokenBrokerException.Config> { runBlocking { broker.readClient("reg", created.clientId()) } }
    val refused = expectThrows<TokenBrokerException.Registration> {
        runBlocking {
            broker.registerClient(
                "reg",
                """{"application_type":"web","redirect_uris":["http://127.0.0.1/cb"],"grant_types":["implicit"],"response_types":["id_token"]}""",
            )
        }
    }
    expect(refused.status == 400.toUShort() && refused.reason.contains("invalid_redirect_uri")) { "$refused" }
    expectThrows<TokenBrokerException.Config> { runBlocking { broker.listClients("reg") } }
    expectThrows<TokenBrokerException.Config> { broker.registerClientBlocking("reg", "{not json") }
}

fun sharedTierEntries() = runBlocking {
    // TOKENBROKER_CACHE_KEY is set by the Makefile: the file store needs no user key.
    val dir = Files.createTempDirectory("tb-kt-cache").toFile()
    try {
        val (id, secret) = newClient("entries")
        val broker = Broker(alliance(id, secret).replace("store = \"memory\"", "store = \"file\"\npath = \"$dir\""))
        expect(broker.cacheEntries().isEmpty()) { "empty at first" }
        val token = broker.token("aos")
        val entries = broker.cacheEntriesBlocking()
        expect(entries.size == 1 && entries[0].scopes == listOf("default")) { "$entries" }
        expect(!entries.toString().contains(token.token())) { "token in $entries" }
        val left = entries[0].expiresAtEpochSeconds - System.currentTimeMillis() / 1000.0
        expect(left > 3500 && left < 3700) { "expires in $left s" }
        broker.clearCache()
        expect(broker.cacheEntries().isEmpty() && broker.cachedToken("aos") == null) { "cleared" }
    } finally {
        dir.deleteRecursively()
    }
}

class CollectingLogger : Logger {
    val records: MutableList<LogRecord> = Collections.synchronizedList(mutableListOf())
    override fun log(record: LogRecord) {
        records.add(record)
    }
}

fun logsReachTheAppLogger() = runBlocking {
    val logger = CollectingLogger()
    setLogger(logger, LogLevel.TRACE)
    try {
        val (id, secret) = newClient("logs")
        val broker = Broker(alliance(id, secret))
        val token = broker.token("aos")
        expectThrows<TokenBrokerException.OAuth> { runBlocking { Broker(alliance(id, "wrong-secret")).token("aos") } }
        // Events reach the logger on its own thread: wait for the two expected (at most 10 s).
        fun seen() = synchronized(logger.records) { logger.records.toList() }
        fun issued(r: LogRecord) = r.level == LogLevel.INFO && r.message.contains("token issued") && r.message.contains("profile=aos")
        fun refused(r: LogRecord) = r.level == LogLevel.WARN && r.message.contains("invalid_client")
        val deadline = System.nanoTime() + 10_000_000_000
        while (System.nanoTime() < deadline && !(seen().any(::issued) && seen().any(::refused))) Thread.sleep(20)
        val records = seen()
        expect(records.any(::issued) && records.any(::refused)) { "expected events missing: $records" }
        expect(records.any { it.level == LogLevel.DEBUG }) { "no debug event: $records" }
        expect(records.all { it.target.startsWith("tokenbroker") }) { "foreign events: ${records.map { it.target }.toSet()}" }
        for (r in records) {
            for (s in listOf(secret, token.token(), "wrong-secret")) expect(!r.message.contains(s)) { "secret in $r" }
        }
    } finally {
        setLogger(null, LogLevel.INFO)
    }
}
