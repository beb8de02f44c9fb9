// The operation list (api/operations.json) against the Swift module. Swift has no run-time
// reflection of methods, so every operation is called through `operationTable` below (written
// here, so it only compiles when each method exists with these labels); the test fails when the
// JSON lists an operation the table lacks. The options and their defaults are read from the
// generated declarations (class `Broker` in TokenBroker.swift), and every probe is run
// through the table (both twins of an I/O operation) and must fail with the listed error kind
// and message.
import Foundation
import TokenBroker

/// Files copied into the chroot by run-swift-tests.sh: api/operations.json,
/// tests/scenarios.json, the test key pair.
let dataDir = env["TB_DATA_DIR"] ?? ""
let swiftSource = env["TB_SWIFT_SOURCE"] ?? ""

func camel(_ snake: String) -> String {
    let parts = snake.split(separator: "_").map(String.init)
    return parts.enumerated().map { i, p in i == 0 ? p : p.prefix(1).uppercased() + p.dropFirst() }.joined()
}

/// `OAuth` → `oauth`, `InvalidResponse` → `invalid_response`: the core's kind names.
func snake(_ name: String) -> String {
    var out = ""
    var previousLower = false
    for c in name {
        if c.isUppercase && previousLower { out += "_" }
        out += c.lowercased()
        previousLower = c.isLowercase
    }
    return out
}

/// The kind and `reason` of a TokenBrokerError, or nil for any other error.
func kindAndReason(_ error: Error) -> (kind: String, reason: String)? {
    guard error is TokenBrokerError, let child = Mirror(reflecting: error).children.first,
        let label = child.label
    else { return nil }
    let reason = Mirror(reflecting: child.value).children.first { $0.label == "reason" }?.value
    return (snake(label), reason as? String ?? "")
}

typealias OperationCall = (Broker, [String: String]) async throws -> Void

let probeRedirect = "http://127.0.0.1/callback"

/// Every operation, by its operations.json name: the async call, then the blocking twin.
let operationTable: [String: [OperationCall]] = [
    "token": [
        { b, a in _ = try await b.token(profile: a["profile"]!) },
        { b, a in _ = try b.tokenBlocking(profile: a["profile"]!) },
    ],
    "cached_token": [{ b, a in _ = try b.cachedToken(profile: a["profile"]!) }],
    "login": [
        { b, a in _ = try await b.login(profile: a["profile"]!, openBrowser: false, timeout: 1) },
        { b, a in _ = try b.loginBlocking(profile: a["profile"]!, openBrowser: false, timeout: 1) },
    ],
    "device_login": [
        { b, a in _ = try await b.deviceLogin(profile: a["profile"]!) },
        { b, a in _ = try b.deviceLoginBlocking(profile: a["profile"]!) },
    ],
    "begin_login": [
        { b, a in _ = try await b.beginLogin(profile: a["profile"]!, redirectUri: a["redirect_uri"] ?? probeRedirect) },
        { b, a in _ = try b.beginLoginBlocking(profile: a["profile"]!, redirectUri: a["redirect_uri"] ?? probeRedirect) },
    ],
    "complete_login": [
        { b, a in
            let p = try await b.beginLogin(profile: a["profile"] ?? "", redirectUri: probeRedirect)
            _ = try await b.completeLogin(pending: p, redirectUrl: a["redirect_url"] ?? probeRedirect)
        },
        { b, a in
            let p = try b.beginLoginBlocking(profile: a["profile"] ?? "", redirectUri: probeRedirect)
            _ = try b.completeLoginBlocking(pending: p, redirectUrl: a["redirect_url"] ?? probeRedirect)
        },
    ],
    "complete_login_form": [
        { b, a in
            let p = try await b.beginLogin(profile: a["profile"] ?? "", redirectUri: probeRedirect)
            _ = try await b.completeLoginForm(pending: p, body: Data((a["body"] ?? "").utf8))
        },
        { b, a in
            let p = try b.beginLoginBlocking(profile: a["profile"] ?? "", redirectUri: probeRedirect)
            _ = try b.completeLoginFormBlocking(pending: p, body: Data((a["body"] ?? "").utf8))
        },
    ],
    "logout": [
        { b, a in _ = try await b.logout(profile: a["profile"]!) },
        { b, a in _ = try b.logoutBlocking(profile: a["profile"]!) },
    ],
    "forget": [
        { b, a in try await b.forget(profile: a["profile"]!) },
        { b, a in try b.forgetBlocking(profile: a["profile"]!) },
    ],
    "register_client": [
        { b, a in _ = try await b.registerClient(profile: a["profile"]!, metadata: a["metadata"] ?? "{}") },
        { b, a in _ = try b.registerClientBlocking(profile: a["profile"]!, metadata: a["metadata"] ?? "{}") },
    ],
    "read_client": [
        { b, a in _ = try await b.readClient(profile: a["profile"]!, clientId: a["client_id"] ?? "x") },
        { b, a in _ = try b.readClientBlocking(profile: a["profile"]!, clientId: a["client_id"] ?? "x") },
    ],
    "update_client": [
        { b, a in _ = try await b.updateClient(profile: a["profile"]!, clientId: a["client_id"] ?? "x", metadata: "{}") },
        { b, a in _ = try b.updateClientBlocking(profile: a["profile"]!, clientId: a["client_id"] ?? "x", metadata: "{}") },
    ],
    "delete_client": [
        { b, a in try await b.deleteClient(profile: a["profile"]!, clientId: a["client_id"] ?? "x") },
        { b, a in try b.deleteClientBlocking(profile: a["profile"]!, clientId: a["client_id"] ?? "x") },
    ],
    "list_clients": [
        { b, a in _ = try await b.listClients(profile: a["profile"]!) },
        { b, a in _ = try b.listClientsBlocking(profile: a["profile"]!) },
    ],
    "stats": [{ b, _ in _ = b.stats() }],
    "profile_names": [{ b, _ in _ = b.profileNames() }],
    "cache_entries": [
        { b, _ in _ = try await b.cacheEntries() },
        { b, _ in _ = try b.cacheEntriesBlocking() },
    ],
    "clear_cache": [
        { b, _ in try await b.clearCache() },
        { b, _ in try b.clearCacheBlocking() },
    ],
]

/// The declaration of `name` in the generated class `Broker`: its labels and default texts.
func declared(_ source: String, _ name: String) -> [(label: String, defaultText: String?)]? {
    guard let broker = source.range(of: "open class Broker:"),
        let start = source.range(of: "open func \(name)(", range: broker.upperBound..<source.endIndex)
    else { return nil }
    var depth = 1
    var end = start.upperBound
    while end < source.endIndex && depth > 0 {
        if source[end] == "(" { depth += 1 } else if source[end] == ")" { depth -= 1 }
        end = source.index(after: end)
    }
    let params = source[start.upperBound..<source.index(before: end)]
    return params.split(separator: ",").map { p in
        let label = String(p.split(separator: ":")[0]).trimmingCharacters(in: .whitespaces)
        let parts = p.components(separatedBy: " = ")
        return (label, parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : nil)
    }
}

/// Whether the generated default text means the JSON default.
func sameDefault(_ text: String?, _ json: Any) -> Bool {
    guard let text else { return false }
    if json is NSNull { return text == "nil" }
    if let n = json as? NSNumber {
        // A JSON true/false is an NSNumber of a C bool ("c" or "B"); numbers are "q" or "d".
        if ["c", "B"].contains(String(cString: n.objCType)) { return text == (n.boolValue ? "true" : "false") }
        let digits = text.replacingOccurrences(of: "Double(", with: "").replacingOccurrences(of: ")", with: "")
        return Double(digits) == n.doubleValue
    }
    return text == "\"\(json)\""
}

func operationList() async throws {
    let api = try JSONSerialization.jsonObject(
        with: try Data(contentsOf: URL(fileURLWithPath: "\(dataDir)/operations.json"))) as! [String: Any]
    let source = try String(contentsOfFile: swiftSource, encoding: .utf8)
    let operations = api["operations"] as! [[String: Any]]
    try expect(operations.count >= 17, "api/operations.json lists \(operations.count) operations")
    var problems: [String] = []
    for op in operations {
        let jsonName = op["name"] as! String, name = camel(jsonName), io = op["io"] as! Bool
        let args = (op["args"] as! [String]).map(camel)
        let options = op["options"] as! [String: Any]
        guard let calls = operationTable[jsonName] else {
            problems.append("\(jsonName): not in the test's operation table (is Broker.\(name) missing?)")
            continue
        }
        if calls.count != (io ? 2 : 1) { problems.append("\(jsonName): \(calls.count) calls in the table") }
        for fname in io ? [name, "\(name)Blocking"] : [name] {
            guard let params = declared(source, fname) else {
                problems.append("Broker.\(fname) is not declared")
                continue
            }
            let labels = params.map(\.label)
            let optionLabels = labels.dropFirst(args.count)
            if Array(labels.prefix(args.count)) != args || Set(optionLabels) != Set(options.keys.map(camel))
                || optionLabels.count != options.count
            {
                problems.append("Broker.\(fname)(\(labels)), expected \(args) + \(options.keys.map(camel))")
            }
            for p in params.prefix(args.count) where p.defaultText != nil {
                problems.append("Broker.\(fname): argument \(p.label) has a default")
            }
            for (option, value) in options {
                let text = params.first { $0.label == camel(option) }?.defaultText
                if !sameDefault(text, value) {
                    problems.append("Broker.\(fname): \(camel(option)) defaults to \(text ?? "nothing"), expected \(value)")
                }
            }
        }
    }
    let broker = try Broker(configToml: alliance("probe-client", "probe-secret"))
    for probe in api["probes"] as! [[String: Any]] {
        let op = probe["operation"] as! String
        let args = probe["args"] as! [String: String]
        let kind = probe["kind"] as! String, text = probe["message_contains"] as! String
        for (i, call) in (operationTable[op] ?? []).enumerated() {
            do {
                try await call(broker, args)
                problems.append("probe \(op)#\(i)(\(args)): expected a \(kind) error, it succeeded")
            } catch {
                let got = kindAndReason(error)
                if got?.kind != kind || !(got?.reason.contains(text) ?? false) {
                    problems.append("probe \(op)#\(i)(\(args)): got \(error), expected \(kind) containing \"\(text)\"")
                }
            }
        }
    }
    try expect(try await requestsBy("probe-client") == 0, "a probe reached the provider")
    try expect(problems.isEmpty, "operations.json:\n  " + problems.joined(separator: "\n  "))
}
