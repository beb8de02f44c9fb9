// End-to-end tests of the Swift binding (module TokenBroker) against the shared test servers:
//   TB_TEST_PROVIDER  tests/provider/server.mjs (programmable provider, /_admin API)
//   TB_TEST_ISSUER    tests/oidc/server.mjs (panva's oidc-provider)
//   TB_DRIVER         bindings/uniffi/tests/driver.mjs (runs tests/oidc/drive_login.mjs for us)
// Run by `make -C bindings/uniffi test-swift`; prints "swift: N passed, N failed" last.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenBroker

let env = ProcessInfo.processInfo.environment
let provider = env["TB_TEST_PROVIDER"] ?? ""
let issuer = env["TB_TEST_ISSUER"] ?? ""
let driver = env["TB_DRIVER"] ?? ""
let redirect = "http://127.0.0.1:53682/callback"

// ------------------------------------------------------------------------------- helpers

struct Failure: Error, CustomStringConvertible {
    let description: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
    if !condition { throw Failure(description: "line \(line): \(message())") }
}

/// Runs `body`, which must throw an error matching `match`; returns that error.
func expectError<T>(
    _ what: String, line: Int = #line, _ body: () async throws -> T,
    _ match: (Error) -> Bool
) async throws -> Error {
    do {
        let value = try await body()
        throw Failure(description: "line \(line): expected \(what), got \(value)")
    } catch let e as Failure {
        throw e
    } catch {
        try expect(match(error), "expected \(what), got \(error)", line: line)
        return error
    }
}

func http(_ url: String, body: String? = nil) async throws -> String {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 60
    if let body {
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "content-type")
    }
    let (data, status): (Data, Int) = try await withCheckedThrowingContinuation { cont in
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                cont.resume(throwing: error)
            } else {
                cont.resume(returning: (data ?? Data(), (response as? HTTPURLResponse)?.statusCode ?? 0))
            }
        }.resume()
    }
    let text = String(decoding: data, as: UTF8.self)
    try expect((200..<300).contains(status), "\(url): HTTP \(status) \(text)")
    return text
}

func admin(_ path: String, _ body: String? = nil) async throws -> String {
    try await http("\(provider)/_admin/\(path)", body: body)
}

/// A fresh confidential client on the test provider, so request counts are this test's own.
func newClient(_ prefix: String) async throws -> (String, String) {
    let n = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    let id = "\(prefix)-swift-\(n)", secret = "secret-\(n)"
    _ = try await admin("clients", #"{"client_id":"\#(id)","client_secret":"\#(secret)"}"#)
    return (id, secret)
}

/// Requests the test provider counted for `clientId` (`/_admin/stats` → by_client).
func requestsBy(_ clientId: String) async throws -> Int {
    let json = try await admin("stats")
    let stats = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    return ((stats?["by_client"] as? [String: Any])?[clientId] as? NSNumber)?.intValue ?? 0
}

/// drive_login.mjs (through the driver) on `url`: the redirect URL it stopped at.
func drive(_ url: String) async throws -> String {
    let out = try await http("\(driver)/drive", body: url)
    return out.trimmingCharacters(in: .whitespacesAndNewlines)
}

func alliance(_ id: String, _ secret: String, http: String = "") -> String {
    """
    \(http)
    [cache]
    store = "memory"

    [profiles.aos]
    provider = "alliance"
    client_id = "\(id)"
    client_secret = "\(secret)"
    scopes = ["default"]
    token_url = "\(provider)/API/v2/OAuth/token"
    """
}

let oidcWeb = """
    [cache]
    store = "memory"

    [profiles.web]
    provider = "oidc"
    issuer = "\(issuer)"
    client_id = "oidc-web"
    client_secret = "oidc-web-secret"
    grant = "authorization_code"
    scopes = ["openid", "api:read"]
    """

/// A Keychain stand-in: remembers every call.
final class RecordingStore: SecretStore, @unchecked Sendable {
    private let lock = NSLock()
    private var secrets: [String: String] = [:]
    private var log: [String] = []

    var calls: [String] { lock.withLock { log } }
    func value(_ name: String) -> String? { lock.withLock { secrets[name] } }
    var isEmpty: Bool { lock.withLock { secrets.isEmpty } }

    func getSecret(name: String) throws -> String? {
        lock.withLock { log.append("get \(name)"); return secrets[name] }
    }

    func setSecret(name: String, value: String) throws {
        lock.withLock { log.append("set \(name)"); secrets[name] = value }
    }

    func deleteSecret(name: String) throws {
        lock.withLock { log.append("delete \(name)"); secrets[name] = nil }
    }
}

/// A store whose writes fail the way a locked Keychain would.
final class LockedKeychain: SecretStore, @unchecked Sendable {
    func getSecret(name: String) throws -> String? { nil }
    func setSecret(name: String, value: String) throws {
        throw TokenBrokerError.Cache(reason: "keychain is locked (errSecInteractionNotAllowed)")
    }
    func deleteSecret(name: String) throws {}
}

func seconds(since start: Date) -> Double { Date().timeIntervalSince(start) }

// --------------------------------------------------------------------------------- tests

func clientCredentialsThenCache() async throws {
    let (id, secret) = try await newClient("aos")
    let broker = try Broker(configToml: alliance(id, secret))
    try expect(try broker.cachedToken(profile: "aos") == nil, "nothing cached yet")
    let first = try await broker.token(profile: "aos")
    try expect(first.tokenType() == "Bearer", first.tokenType())
    try expect(first.header() == "Bearer \(first.token())", "header")
    try expect(first.scopes() == ["default"], "\(first.scopes())")
    let ttl = first.expiresAtEpochSeconds() - Date().timeIntervalSince1970
    try expect(ttl > 3500 && ttl < 3700, "expires in \(ttl) s")
    try expect(!"\(first)".contains(first.token()) && "\(first)".contains("redacted"), "description: \(first)")

    // Every other way to ask is answered from memory: no second request.
    let second = try await broker.token(profile: "aos", minTtl: 60)
    let blocking = try broker.tokenBlocking(profile: "aos")
    let cached = try broker.cachedToken(profile: "aos")
    try expect(second.token() == first.token() && blocking.token() == first.token(), "same token")
    try expect(cached?.token() == first.token(), "cachedToken")
    let requests = try await requestsBy(id)
    try expect(requests == 1, "provider saw \(requests) requests")
    let stats = broker.stats()
    try expect(stats.fetches == 1 && stats.misses == 1 && stats.hits == 3 && stats.entries == 1, "\(stats)")

    let forced = try await broker.token(profile: "aos", forceRefresh: true)
    let after = try await requestsBy(id)
    try expect(forced.token() != first.token() && after == 2, "forceRefresh")
}

func loginThroughAppSecretStore() async throws {
    let store = RecordingStore()
    let broker = try Broker.withSecretStore(configToml: oidcWeb, store: store)
    let pending = try await broker.beginLogin(profile: "web", redirectUri: redirect)
    try expect(pending.url().hasPrefix("\(issuer)/"), pending.url())
    try expect(pending.url().contains("state=\(pending.state())"), pending.url())
    let redirected = try await drive(pending.url())
    try expect(redirected.hasPrefix("\(redirect)?") && redirected.contains("code="), redirected)

    let token = try await broker.completeLogin(pending: pending, redirectUrl: redirected)
    try expect(token.scopes().contains("api:read"), "\(token.scopes())")
    // One refresh token, and beside it the signed-in subject that refreshes must keep.
    let sets = store.calls.filter { $0.hasPrefix("set refresh_token:") && !$0.hasSuffix(":sub") }
    try expect(sets.count == 1, "store calls: \(store.calls)")
    let name = String(sets[0].dropFirst("set ".count))
    try expect(store.calls.contains("set \(name):sub"), "store calls: \(store.calls)")
    try expect(!(store.value(name) ?? "").isEmpty, "refresh token stored")
    try expect(try broker.cachedToken(profile: "web")?.token() == token.token(), "login result is cached")

    // The next fetch reads the refresh token from the app's store and writes the rotated one.
    let refreshed = try await broker.token(profile: "web", forceRefresh: true)
    try expect(refreshed.token() != token.token(), "a new access token")
    try expect(store.calls.contains("get \(name)"), "store calls: \(store.calls)")
    try expect(store.calls.filter { $0 == "set \(name)" }.count == 2, "rotation: \(store.calls)")

    try await broker.forget(profile: "web")
    try expect(store.calls.last == "delete \(name)" && store.isEmpty, "forget: \(store.calls)")
}

func configErrors() async throws {
    // A broken profile does not fail the config: it fails when used, with its own error.
    let broken = try Broker(configToml: "[profiles.x]\nprovider = \"nope\"\n")
    let bad = try await expectError("Config", { try await broken.token(profile: "x") }) {
        if case TokenBrokerError.Config = $0 { return true } else { return false }
    }
    if case let TokenBrokerError.Config(reason, location) = bad {
        try expect(location.contains("profile 'x'") && reason.contains("nope"), "\(bad)")
    }
    _ = try await expectError("Config", { try Broker.fromJson(configJson: "[1, 2]") }) {
        if case TokenBrokerError.Config = $0 { return true } else { return false }
    }
    let (id, secret) = try await newClient("cfg")
    let broker = try Broker(configToml: alliance(id, secret))
    _ = try await expectError("Config", { try await broker.token(profile: "nope") }) {
        if case let TokenBrokerError.Config(reason, _) = $0 { return reason.contains("no such profile") }
        return false
    }
    let requests = try await requestsBy(id)
    try expect(requests == 0, "nothing sent")
}

func oauthError() async throws {
    let (id, _) = try await newClient("oauth")
    let broker = try Broker(configToml: alliance(id, "wrong-secret"))
    let e = try await expectError("OAuth", { try await broker.token(profile: "aos") }) {
        if case TokenBrokerError.OAuth = $0 { return true } else { return false }
    }
    guard case let TokenBrokerError.OAuth(reason, endpoint, oauthError, _, _, status, _) = e else { return }
    try expect(oauthError == "invalid_client" && status == 401, "\(e)")
    try expect(endpoint.hasSuffix("/API/v2/OAuth/token"), endpoint)
    try expect(!reason.contains("wrong-secret"), "secret in message: \(reason)")
}

func transportError() async throws {
    let broker = try Broker(configToml: """
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
        """)
    _ = try await expectError("Transport", { try broker.tokenBlocking(profile: "down") }) {
        if case TokenBrokerError.Transport = $0 { return true } else { return false }
    }
}

func invalidResponseError() async throws {
    let (id, secret) = try await newClient("html")
    let broker = try Broker(configToml: alliance(id, secret, http: "[http]\nmax_retries = 0"))
    _ = try await admin("faults", #"{"route":"alliance.token","kind":"html"}"#)
    _ = try await expectError("InvalidResponse", { try await broker.token(profile: "aos") }) {
        if case let TokenBrokerError.InvalidResponse(_, _, status) = $0 { return status == 500 }
        return false
    }
}

func timeoutError() async throws {
    let (id, secret) = try await newClient("slow")
    let broker = try Broker(configToml: alliance(id, secret, http: "[http]\nmax_retries = 0\ntimeout = 0.5"))
    _ = try await admin("faults", #"{"route":"alliance.token","kind":"delay","delay_ms":2000}"#)
    _ = try await expectError("Timeout", { try await broker.token(profile: "aos") }) {
        if case let TokenBrokerError.Timeout(_, _, after) = $0 { return after > 0.4 && after < 1.0 }
        return false
    }
}

func rateLimitedError() async throws {
    let (id, secret) = try await newClient("limited")
    let broker = try Broker(configToml: alliance(id, secret, http: "[http]\ndeadline = 10"))
    _ = try await admin("faults", #"{"route":"alliance.token","kind":"status","status":429,"retry_after":"120"}"#)
    _ = try await expectError("RateLimited", { try await broker.token(profile: "aos") }) {
        if case let TokenBrokerError.RateLimited(_, _, status, retryAfter) = $0 { return status == 429 && retryAfter == 120 }
        return false
    }
}

func interactionError() async throws {
    let broker = try Broker.withSecretStore(configToml: oidcWeb, store: RecordingStore())
    _ = try await expectError("Interaction", { try await broker.token(profile: "web") }) {
        if case TokenBrokerError.Interaction = $0 { return true } else { return false }
    }
    let pending = try await broker.beginLogin(profile: "web", redirectUri: redirect)
    let forged = "\(redirect)?code=abc&state=forged&iss=\(issuer)"
    _ = try await expectError("Interaction", { try await broker.completeLogin(pending: pending, redirectUrl: forged) }) {
        if case let TokenBrokerError.Interaction(reason) = $0 { return reason.contains("state") }
        return false
    }
    // The same for a form_post body.
    let body = Data("code=abc&state=forged&iss=\(issuer)".utf8)
    _ = try await expectError("Interaction", { try await broker.completeLoginForm(pending: pending, body: body) }) {
        if case let TokenBrokerError.Interaction(reason) = $0 { return reason.contains("state") }
        return false
    }
}

func cacheErrorFromAppStore() async throws {
    let broker = try Broker.withSecretStore(configToml: oidcWeb, store: LockedKeychain())
    let pending = try await broker.beginLogin(profile: "web", redirectUri: redirect)
    let redirected = try await drive(pending.url())
    _ = try await expectError("Cache", { try await broker.completeLogin(pending: pending, redirectUrl: redirected) }) {
        if case let TokenBrokerError.Cache(reason) = $0 { return reason.contains("keychain is locked") }
        return false
    }
}

func cancellation() async throws {
    let (id, secret) = try await newClient("cancel")
    let broker = try Broker(configToml: alliance(id, secret))
    _ = try await admin("faults", #"{"route":"alliance.token","kind":"delay","delay_ms":3000}"#)

    // Task.cancel ends the await promptly (CancellationError), not after the 3 s delay.
    let task = Task { try await broker.token(profile: "aos") }
    try await Task.sleep(nanoseconds: 300_000_000)
    let start = Date()
    task.cancel()
    _ = try await expectError("CancellationError", { try await task.value }) { $0 is CancellationError }
    try expect(seconds(since: start) < 1.0, "cancel took \(seconds(since: start)) s")

    // A Task cancelled before it starts waiting does not wait either.
    let early = Task {
        withUnsafeCurrentTask { $0?.cancel() }
        return try await broker.token(profile: "aos")
    }
    _ = try await expectError("CancellationError", { try await early.value }) { $0 is CancellationError }

    // The core's fetch went on: the next caller gets its token without a second request.
    _ = try await broker.token(profile: "aos")
    let requests = try await requestsBy(id)
    try expect(requests == 1, "requests: \(requests)")
}

func concurrentCallersShareOneFetch() async throws {
    let (id, secret) = try await newClient("flight")
    let broker = try Broker(configToml: alliance(id, secret))
    _ = try await admin("faults", #"{"route":"alliance.token","kind":"delay","delay_ms":300}"#)
    let tokens = try await withThrowingTaskGroup(of: String.self) { group in
        for _ in 0..<8 { group.addTask { try await broker.token(profile: "aos").token() } }
        var seen = Set<String>()
        for try await t in group { seen.insert(t) }
        return seen
    }
    let requests = try await requestsBy(id)
    try expect(tokens.count == 1 && requests == 1, "tokens \(tokens.count), requests \(requests)")
}

// -------------------------------------------------------------------------------- runner

let tests: [(String, () async throws -> Void)] = [
    ("client credentials, then served from the cache", clientCredentialsThenCache),
    ("auth code login through the app's SecretStore", loginThroughAppSecretStore),
    ("config errors", configErrors),
    ("oauth error", oauthError),
    ("transport error", transportError),
    ("invalid_response error", invalidResponseError),
    ("timeout error", timeoutError),
    ("rate limited error", rateLimitedError),
    ("interaction errors", interactionError),
    ("cache error from the app's store", cacheErrorFromAppStore),
    ("cancellation", cancellation),
    ("concurrent callers share one fetch", concurrentCallersShareOneFetch),
    ("leak matrix (tests/leak)", leakMatrix),
    ("every operation of api/operations.json, its options, defaults and probes", operationList),
    ("login through the loopback listener (onUrl), then logout", loopbackLoginAndLogout),
    ("deviceLogin (onCode)", deviceLogin),
    ("token(rejected:)", rejectedToken),
    ("client registration (RFC 7591/7592)", clientRegistration),
    ("cacheEntries and clearCache (file store)", sharedTierEntries),
    ("core events reach the app's Logger, without secrets", logsReachTheAppLogger),
    // Last: scenarios reset the provider (clients the tests above registered are gone).
    ("conformance scenarios (tests/scenarios.json)", scenarios),
]

if provider.isEmpty || issuer.isEmpty || driver.isEmpty {
    print("TB_TEST_PROVIDER, TB_TEST_ISSUER and TB_DRIVER must be set")
    exit(2)
}
var passed = 0
var failed = 0
for (name, test) in tests {
    let start = Date()
    do {
        try await test()
        passed += 1
        print("ok   \(name) (\(Int(seconds(since: start) * 1000)) ms)")
    } catch {
        failed += 1
        print("FAIL \(name): \(error)")
    }
    _ = try? await admin("faults/clear", "{}")
}
print("swift: \(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
