// The leak matrix (tests/leak/README.md) through the Swift binding: for every case the error's
// description, String(reflecting:) and localizedDescription must hold no secret in any encoding
// and no control character. Every case runs (token and list_clients).
import Foundation
import TokenBroker

private func json(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}

func leakMatrix() async throws {
    try expect(!leakCases.isEmpty, "no cases.json in TB_LEAK_DIR=\(leakDir)")
    guard let key = FileManager.default.contents(atPath: "\(leakDir)/client-key.pem") else {
        throw Failure(description: "no client-key.pem in TB_LEAK_DIR=\(leakDir)")
    }
    let privateKey = String(decoding: key, as: UTF8.self)
    let echoesFrom = (try json(try await admin("echoes")) as? [Any] ?? []).count
    let all = leakExpandCases()
    let cases = all
    let needles = LeakNeedles()
    var outputs: [(String, String, String)] = []
    var sent: [String: String] = [:] // case name -> the provider's log of its route
    for c in cases {
        let config: [String: Any] = [
            "cache": ["store": "memory"],
            "profiles": ["leak": c.profile(provider: provider, privateKey: privateKey)],
        ]
        let text = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let broker = try Broker.fromJson(configJson: text)
        _ = try await admin("faults", try c.fault())
        var texts: [(String, String)] = []
        do {
            if c.action == "list_clients" {
                texts.append(("result", "\(try await broker.listClients(profile: "leak"))"))
            } else {
                texts.append(("result", "\(try await broker.token(profile: "leak"))"))
            }
        } catch {
            texts.append(("description", "\(error)"))
            texts.append(("reflecting", String(reflecting: error)))
            texts.append(("localizedDescription", error.localizedDescription))
        }
        let stats = try json(try await admin("stats")) as? [String: Any] ?? [:]
        let pending = (stats["faults_pending"] as? [[String: Any]] ?? []).filter { $0["route"] as? String == c.route }
        if !pending.isEmpty { _ = try await admin("faults/clear", "{}") }
        try expect(pending.isEmpty, "\(c.name): the echo fault was not used: \(texts)")
        for (label, text) in texts { outputs.append((c.name, label, text)) }
        // What the broker sent (assertions, bearer tokens), read now: the log keeps 500 requests.
        let requests = try await admin("requests?route=\(c.route)")
        needles.addFromProvider(echoes: [], requests: try json(requests) as? [[String: Any]] ?? [], ids: [c.id])
        sent[c.name] = requests
    }
    for c in cases { for (name, value) in c.secrets { needles.add("\(c.name) secret \(name)", value, c.id) } }
    let echoes = try json(try await admin("echoes")) as? [[String: Any]] ?? []
    needles.addFromProvider(echoes: Array(echoes.dropFirst(echoesFrom)), requests: [], ids: [])
    // The control: the needles must find each secret of a case in what the broker sent for it,
    // or a clean result would prove nothing.
    let blind = cases.flatMap { c -> [String] in
        let found = needles.find(sent[c.name] ?? "")
        return c.secrets.keys.map { "\(c.name) secret \($0)" }.filter { label in
            !found.contains { $0.hasPrefix("\(label) (") }
        }
    }
    try expect(blind.isEmpty, "the needles miss secrets in the requests sent: \(blind.prefix(5))")
    let hits = outputs.flatMap { name, label, text in needles.find(text).map { "\(name) \(label): \($0)" } }
    print(leakSummary("swift", cases.count, outputs.count, hits.count))
    for h in hits.prefix(20) { print("  \(h)") }
    try expect(hits.isEmpty, "\(hits.count) leaks, first: \(hits.prefix(5).joined(separator: "; "))")
}
