// The language-neutral conformance scenarios of tests/scenarios.json (format: tests/README.md)
// through the Swift module, as python/tests/test_scenarios.py runs them: every scenario, one
// after another (provider scenarios reset the provider and count its requests globally).
// run-swift-tests.sh copies the list and the test key pair into the chroot (TB_DATA_DIR).
import Foundation
import TokenBroker

/// `value` with ${PROVIDER}, ${ISSUER} and ${KEYS} replaced in every string.
func fill(_ value: Any) -> Any {
    if let s = value as? String {
        return s.replacingOccurrences(of: "${PROVIDER}", with: provider)
            .replacingOccurrences(of: "${ISSUER}", with: issuer)
            .replacingOccurrences(of: "${KEYS}", with: dataDir)
    }
    if let a = value as? [Any] { return a.map(fill) }
    if let d = value as? [String: Any] { return d.mapValues(fill) }
    return value
}

func jsonText(_ value: Any) throws -> String {
    String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
}

/// Runs one scenario; returns what differed from its `expect` (empty: passed).
func runScenario(_ scenario: [String: Any]) async throws -> [String] {
    if scenario["server"] as? String == "provider" { _ = try await admin("reset", "{}") }
    let config: [String: Any] = ["cache": ["store": "memory"], "profiles": ["p": fill(scenario["profile"]!)]]
    // A config the broker refuses: every token step fails with its error.
    let built: Result<Broker, Error> = Result { try Broker.fromJson(configJson: try jsonText(config)) }
    var tokens: [AccessToken] = []
    var lastError: Error?
    for step in scenario["steps"] as! [[String: Any]] {
        if let fault = step["fault"] {
            _ = try await admin("faults", try jsonText(fault))
        } else if let adminConfig = step["admin_config"] {
            _ = try await admin("config", try jsonText(adminConfig))
        } else if let token = step["token"] as? [String: Any] {
            let force = token["force_refresh"] as? Bool ?? false
            do {
                tokens.append(try await built.get().token(profile: "p", forceRefresh: force))
                lastError = nil
            } catch {
                lastError = error
            }
        } else {
            return ["unknown step \(step)"]
        }
    }

    let expect = scenario["expect"] as? [String: Any] ?? [:]
    var problems: [String] = []
    let got = lastError.flatMap(kindAndReason)
    if let kind = expect["error_kind"] as? String {
        if lastError == nil {
            problems.append("expected a \(kind) error, the last token() succeeded")
        } else if got?.kind != kind {
            problems.append("expected error_kind \(kind), got \(String(describing: lastError!))")
        }
        if let code = expect["oauth_error"] as? String {
            var seen: String?
            if case .OAuth(_, _, let oauthError, _, _, _, _)? = lastError as? TokenBrokerError { seen = oauthError }
            if seen != code { problems.append("expected oauth_error \(code), got \(seen ?? "nil")") }
        }
    } else if let lastError {
        problems.append("unexpected error \(lastError)")
    }
    let last = tokens.last
    if let type = expect["token_type"] as? String, last?.tokenType() != type {
        problems.append("token_type \(last?.tokenType() ?? "nil"), expected \(type)")
    }
    if let approx = expect["expires_in_approx"] as? Double {
        let left = last.map { $0.remainingSeconds().rounded() }
        if left == nil || abs(left! - approx) > 60 {
            problems.append("expires in \(left.map { "\($0)" } ?? "nil")s, expected \(approx)s ± 60s")
        }
    }
    if let same = expect["same_token"] as? Bool {
        let got = tokens.isEmpty ? nil : tokens.first!.token() == tokens.last!.token()
        if got != same { problems.append("same_token \(String(describing: got)) (\(tokens.count) token(s)), expected \(same)") }
    }
    if let wanted = expect["provider_requests"] as? [String: Int] {
        let stats = try JSONSerialization.jsonObject(with: Data(try await admin("stats").utf8)) as? [String: Any]
        let seen = stats?["requests"] as? [String: Any] ?? [:]
        for (route, n) in wanted {
            let got = (seen[route] as? NSNumber)?.intValue ?? 0
            if got != n { problems.append("provider_requests[\(route)] = \(got), expected \(n)") }
        }
    }
    return problems
}

func scenarios() async throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: "\(dataDir)/scenarios.json"))
    let all = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
    let ids = all.map { $0["id"] as! String }
    try expect(ids.count >= 20 && Set(ids).count == ids.count, "scenario ids: \(ids)")
    var failures: [String] = []
    for scenario in all {
        let id = scenario["id"] as! String
        let problems = try await runScenario(scenario)
        print("  \(problems.isEmpty ? "ok  " : "FAIL") scenario \(id)")
        if !problems.isEmpty { failures.append("\(id):\n    " + problems.joined(separator: "\n    ")) }
        _ = try await admin("faults/clear", "{}")
    }
    try expect(failures.isEmpty, "\(failures.count) of \(all.count) scenarios failed:\n  " + failures.joined(separator: "\n  "))
}
