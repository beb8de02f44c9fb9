// The operations beyond token(): the loopback browser login, the device flow, logout,
// `rejected`, client registration, the shared tier's entries and the Logger, through real
// servers (oidc-provider for the browser login and RFC 7591, the test provider otherwise).
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TokenBroker

let oidcPublic = """
    [cache]
    store = "memory"

    [profiles.web]
    provider = "oidc"
    issuer = "\(issuer)"
    client_id = "oidc-public"
    auth_method = "none"
    redirect_uri = "http://127.0.0.1/callback"
    grant = "authorization_code"
    scopes = ["api:read"]
    """

/// Starts the "browser" (drive_login.mjs --follow, through the driver) and returns at once:
/// the loopback listener answers it only after `onUrl` returned.
final class DrivingBrowser: LoginUrlListener, @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var outcome: Result<String, Error>?
    var result: Result<String, Error>? { lock.withLock { outcome } }

    func onUrl(url: String) {
        Task {
            let r = await Result { try await http("\(driver)/drive?follow=1", body: url) }
            lock.withLock { outcome = r }
            done.signal()
        }
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

func loopbackLoginAndLogout() async throws {
    let broker = try Broker(configToml: oidcPublic)
    let browser = DrivingBrowser()
    let token = try await broker.login(profile: "web", openBrowser: false, timeout: 30, onUrl: browser)
    try expect(browser.done.wait(timeout: .now() + 30) == .success, "the browser did not finish")
    _ = try browser.result!.get()
    try expect(token.scopes() == ["api:read"], "\(token.scopes())")
    try expect(try broker.cachedToken(profile: "web")?.token() == token.token(), "login result is cached")
    let refreshed = try await broker.token(profile: "web", forceRefresh: true)
    try expect(refreshed.token() != token.token(), "the stored refresh token serves a refresh")
    try expect(try await broker.logout(profile: "web"), "logout revokes at the server")
    try expect(try broker.cachedToken(profile: "web") == nil, "logout forgets the token")
    _ = try await expectError("an interaction error", { try await broker.token(profile: "web") }) {
        kindAndReason($0)?.kind == "interaction"
    }
    try expect(!(try broker.logoutBlocking(profile: "web")), "nothing left to revoke")
    let bad = try await expectError("a config error", { try broker.loginBlocking(profile: "web", timeout: -1) }) {
        kindAndReason($0)?.kind == "config"
    }
    try expect(kindAndReason(bad)!.reason.contains("timeout"), "\(bad)")
}

final class ApprovingListener: DeviceCodeListener, @unchecked Sendable {
    private let lock = NSLock()
    private var code: DeviceCode?
    var shown: DeviceCode? { lock.withLock { code } }

    func onCode(code: DeviceCode) {
        lock.withLock { self.code = code }
        Task { _ = try? await admin("device/approve", #"{"user_code":"\#(code.userCode)"}"#) }
    }
}

func deviceLogin() async throws {
    let (id, secret) = try await newClient("device")
    let broker = try Broker(configToml: """
        [cache]
        store = "memory"
        [profiles.dev]
        provider = "oidc"
        client_id = "\(id)"
        client_secret = "\(secret)"
        token_url = "\(provider)/generic/token"
        device_url = "\(provider)/generic/device"
        grant = "device_code"
        scopes = ["read", "write"]
        """)
    let listener = ApprovingListener()
    let token = try await broker.deviceLogin(profile: "dev", onCode: listener)
    guard let code = listener.shown else { throw Failure(description: "onCode was not called") }
    try expect(code.verificationUri.hasSuffix("/generic/device/verify"), code.verificationUri)
    try expect(code.verificationUriComplete?.contains("user_code=") == true, "\(code)")
    try expect(code.interval == 1 && code.expiresIn > 0 && code.scopes == ["read", "write"], "\(code)")
    try expect(token.scopes() == ["read", "write"], "\(token.scopes())")
    try expect(try broker.cachedToken(profile: "dev")?.token() == token.token(), "cached")
}

func rejectedToken() async throws {
    let (id, secret) = try await newClient("rejected")
    let broker = try Broker(configToml: alliance(id, secret))
    let first = try await broker.token(profile: "aos")
    let fresh = try await broker.token(profile: "aos", rejected: first)
    try expect(fresh.token() != first.token(), "a refused token is replaced")
    try expect(try await requestsBy(id) == 2, "one new request")
    // A second caller refused the same (old) token gets the new one without a request.
    let again = try broker.tokenBlocking(profile: "aos", rejected: first)
    try expect(again.token() == fresh.token(), "same new token")
    try expect(try await requestsBy(id) == 2, "no further request")
}

func machine(_ scope: String, _ name: String = "tokenbroker swift test") -> String {
    #"{"grant_types":["client_credentials"],"response_types":[],"token_endpoint_auth_method":"client_secret_basic","scope":"\#(scope)","client_name":"\#(name)"}"#
}

func clientRegistration() async throws {
    let broker = try Broker(configToml: """
        [cache]
        store = "memory"
        [profiles.reg]
        provider = "oidc"
        issuer = "\(issuer)"
        client_id = "registrar"
        """)
    let created = try await broker.registerClient(profile: "reg", metadata: machine("api:read"))
    guard let secret = created.clientSecret(), let rat = created.registrationAccessToken() else {
        throw Failure(description: "no client secret or registration access token")
    }
    try expect(created.metadata().contains(#""scope":"api:read""#), created.metadata())
    for text in ["\(created)", String(reflecting: created), created.toJson()] {
        try expect(!text.contains(secret) && !text.contains(rat), "credential shown: \(text)")
    }
    try expect(created.toJson(includeSecrets: true).contains(secret), "toJson(includeSecrets:)")
    let read = try await broker.readClient(profile: "reg", clientId: created.clientId())
    try expect(read.clientId() == created.clientId(), "\(read)")
    let updated = try broker.updateClientBlocking(
        profile: "reg", clientId: created.clientId(), metadata: machine("api:read", "renamed"))
    try expect(updated.metadata().contains(#""client_name":"renamed""#), updated.metadata())
    // The client's own credentials work until it is deleted.
    let issuedBroker = try Broker(configToml: """
        [cache]
        store = "memory"
        [profiles.issued]
        provider = "oidc"
        issuer = "\(issuer)"
        client_id = "\(created.clientId())"
        client_secret = "\(secret)"
        scopes = ["api:read"]
        """)
    try expect(try await issuedBroker.token(profile: "issued").scopes() == ["api:read"], "new client's token")
    try await broker.deleteClient(profile: "reg", clientId: created.clientId())
    let gone = try await expectError("invalid_client", {
        try await issuedBroker.token(profile: "issued", forceRefresh: true)
    }) { kindAndReason($0)?.kind == "oauth" }
    if case .OAuth(_, _, let code, _, _, _, _)? = gone as? TokenBrokerError {
        try expect(code == "invalid_client", "\(gone)")
    }
    // Deleting forgot the registration token: the client cannot be read through this broker.
    _ = try await expectError("a config error", {
        try await broker.readClient(profile: "reg", clientId: created.clientId())
    }) { kindAndReason($0)?.kind == "config" }
    let refused = try await expectError("a registration error", {
        try await broker.registerClient(profile: "reg", metadata: #"{"application_type":"web","redirect_uris":["http://127.0.0.1/cb"],"grant_types":["implicit"],"response_types":["id_token"]}"#)
    }) { kindAndReason($0)?.kind == "registration" }
    try expect(kindAndReason(refused)!.reason.contains("invalid_redirect_uri"), "\(refused)")
    _ = try await expectError("a config error", { try await broker.listClients(profile: "reg") }) {
        kindAndReason($0)?.kind == "config"
    }
}

func sharedTierEntries() async throws {
    // TOKENBROKER_CACHE_KEY is set by run-swift-tests.sh: the file store needs no user key.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-swift-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (id, secret) = try await newClient("entries")
    let config = alliance(id, secret).replacingOccurrences(
        of: #"store = "memory""#, with: "store = \"file\"\npath = \"\(dir)\"")
    let broker = try Broker(configToml: config)
    try expect(try await broker.cacheEntries().isEmpty, "empty at first")
    let token = try await broker.token(profile: "aos")
    let entries = try broker.cacheEntriesBlocking()
    try expect(entries.count == 1 && entries[0].scopes == ["default"], "\(entries)")
    try expect(!"\(entries)".contains(token.token()), "token in \(entries)")
    let left = entries[0].expiresAtEpochSeconds - Date().timeIntervalSince1970
    try expect(left > 3500 && left < 3700, "expires in \(left) s")
    try await broker.clearCache()
    try expect(try await broker.cacheEntries().isEmpty, "cleared")
    try expect(try broker.cachedToken(profile: "aos") == nil, "memory cleared")
}

final class CollectingLogger: Logger, @unchecked Sendable {
    private let lock = NSLock()
    private var kept: [LogRecord] = []
    var records: [LogRecord] { lock.withLock { kept } }
    func log(record: LogRecord) { lock.withLock { kept.append(record) } }
}

func logsReachTheAppLogger() async throws {
    let logger = CollectingLogger()
    setLogger(logger: logger, level: .trace)
    defer { setLogger(logger: nil, level: .info) }
    let (id, secret) = try await newClient("logs")
    let token = try await Broker(configToml: alliance(id, secret)).token(profile: "aos")
    _ = try await expectError("an oauth error", {
        try await Broker(configToml: alliance(id, "wrong-secret")).token(profile: "aos")
    }) { kindAndReason($0)?.kind == "oauth" }
    let issued = { (r: LogRecord) in
        r.level == .info && r.message.contains("token issued") && r.message.contains("profile=aos")
    }
    let refused = { (r: LogRecord) in r.level == .warn && r.message.contains("invalid_client") }
    // Events reach the logger on its own thread: wait for the two expected (at most 10 s).
    let deadline = Date().addingTimeInterval(10)
    while Date() < deadline && !(logger.records.contains(where: issued) && logger.records.contains(where: refused)) {
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    let records = logger.records
    try expect(records.contains(where: issued) && records.contains(where: refused), "expected events missing: \(records)")
    try expect(records.contains { $0.level == .debug }, "no debug event")
    try expect(records.allSatisfy { $0.target.hasPrefix("tokenbroker") }, "foreign events: \(records.map(\.target))")
    for r in records {
        for s in [secret, token.token(), "wrong-secret"] where r.message.contains(s) {
            throw Failure(description: "secret in \(r)")
        }
    }
}
