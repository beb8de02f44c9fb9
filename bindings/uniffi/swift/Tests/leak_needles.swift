// The needle rule of the leak matrix (tests/leak/README.md): random secrets, their encodings,
// 12-character windows (of Unicode scalars), and the count of hits in outputs.
import Foundation

/// tests/leak/cases.json, copied into the chroot by run-swift-tests.sh (`TB_LEAK_DIR`).
let leakDir = ProcessInfo.processInfo.environment["TB_LEAK_DIR"] ?? ""
let leakCases: [String: Any] = {
    guard let data = FileManager.default.contents(atPath: "\(leakDir)/cases.json"),
        let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    return json
}()
let leakWindow = leakCases["window"] as? Int ?? 12

private let alnum = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
private let nonAscii = Array("éüß€Ω中ж")

/// A fresh secret of `kind` (`text` or `header`).
func leakSecret(_ kind: String) -> String {
    var chars = Array("/+&%=\"\\")
    if kind == "text" { for _ in 0..<2 { chars.append(nonAscii.randomElement()!) } }
    while chars.count < 31 { chars.append(alnum.randomElement()!) }
    chars.shuffle()
    chars.insert(" ", at: Int.random(in: 1..<chars.count))
    return String(chars)
}

func leakClientId() -> String {
    "leak-" + String((0..<12).map { _ in Array("0123456789abcdef").randomElement()! })
}

private func urlEncode(_ v: String, _ space: String) -> String {
    var out = ""
    for b in v.utf8 {
        let c = Character(Unicode.Scalar(b))
        if (c.isASCII && (c.isLetter || c.isNumber)) || "*-._".contains(c) {
            out.append(c)
        } else if b == 0x20 {
            out += space
        } else {
            out += String(format: "%%%02X", Int(b))
        }
    }
    return out
}

private func jsonEscape(_ v: String, ascii: Bool) -> String {
    var out = ""
    for s in v.unicodeScalars {
        switch s {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where s.value < 0x20 || (ascii && s.value > 0x7e):
            out += String(format: "\\u%04x", Int(s.value))
        default: out.unicodeScalars.append(s)
        }
    }
    return out
}

private func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }

/// Encodings 1–6 of `v`, and 7 (Basic) when the client id `id` is given.
func leakEncodings(_ v: String, _ id: String? = nil) -> [String] {
    var out = [
        v, urlEncode(v, "+"), urlEncode(v, "%20"), jsonEscape(v, ascii: false),
        jsonEscape(v, ascii: true), v.replacingOccurrences(of: "\\", with: "\\\\"),
    ]
    if let id {
        out.append(b64("\(urlEncode(id, "+")):\(urlEncode(v, "+"))"))
        out.append(b64("\(urlEncode(id, "%20")):\(urlEncode(v, "%20"))"))
        out.append(b64("\(id):\(v)"))
    }
    var seen: [String] = []
    for e in out where !seen.contains(e) { seen.append(e) }
    return seen
}

private func scalarWindows(_ text: String) -> [String] {
    let scalars = Array(text.unicodeScalars)
    guard scalars.count >= leakWindow else { return [] }
    return (0...(scalars.count - leakWindow)).map { i in
        var w = String.UnicodeScalarView()
        w.append(contentsOf: scalars[i..<(i + leakWindow)])
        return String(w)
    }
}

private func isControl(_ s: Unicode.Scalar) -> Bool {
    (s.value <= 0x1f && s != "\t" && s != "\n") || (0x7f...0x9f).contains(s.value)
}

/// The needle values of a run and the hits they make in outputs.
final class LeakNeedles {
    private var windows: [String: String] = [:]

    /// Adds a needle value (`id`: its case's client id, for the Basic encodings).
    func add(_ label: String, _ value: String, _ id: String? = nil) {
        for e in leakEncodings(value, id) {
            if e.unicodeScalars.count <= leakWindow { windows[e] = label }
            for w in scalarWindows(e) { windows[w] = label }
        }
    }

    /// Echoed tokens, and the assertions and bearer tokens of requests naming one of `ids`.
    func addFromProvider(echoes: [[String: Any]], requests: [[String: Any]], ids: [String]) {
        for e in echoes {
            add("echoed access_token", e["access_token"] as? String ?? "")
            add("echoed refresh_token", e["refresh_token"] as? String ?? "")
        }
        for r in requests {
            let auth = (r["headers"] as? [String: Any])?["authorization"] as? String ?? ""
            let body = r["body"] as? String ?? ""
            let path = r["path"] as? String ?? ""
            var basic = ""
            if auth.hasPrefix("Basic "), let data = Data(base64Encoded: String(auth.dropFirst(6))) {
                basic = String(decoding: data, as: UTF8.self)
            }
            if !ids.contains(where: { path.contains($0) || body.contains($0) || basic.contains($0) }) { continue }
            for pair in body.split(separator: "&") where pair.hasPrefix("client_assertion=") {
                let value = String(pair.dropFirst("client_assertion=".count)).removingPercentEncoding ?? ""
                let parts = value.split(separator: ".").map(String.init)
                if parts.count == 3 {
                    add("client_assertion payload", parts[1])
                    add("client_assertion signature", parts[2])
                }
            }
            if auth.hasPrefix("Bearer ") { add("bearer token", String(auth.dropFirst(7))) }
        }
    }

    /// The hits in one output: each needle value found (by label), and control characters.
    func find(_ text: String) -> [String] {
        var found: [(String, String)] = []
        for w in scalarWindows(text) {
            if let label = windows[w], !found.contains(where: { $0.0 == label }) { found.append((label, w)) }
        }
        var hits = found.map { "\($0.0) (\(jsonEscape($0.1, ascii: true)))" }
        if let c = text.unicodeScalars.first(where: isControl) {
            hits.append(String(format: "control character U+%04X", Int(c.value)))
        }
        return hits
    }
}

/// One case of the matrix with fresh secrets.
struct LeakCase {
    let name: String
    let template: [String: Any]
    let echo: [String: Any]
    let id = leakClientId()
    let secrets: [String: String]
    var route: String { template["route"] as? String ?? "" }
    var action: String { template["action"] as? String ?? "" }

    init(name: String, template: [String: Any], echo: [String: Any]) {
        self.name = name
        self.template = template
        self.echo = echo
        secrets = (template["secrets"] as? [String: String] ?? [:]).mapValues(leakSecret)
    }

    /// The profile template with its placeholders filled.
    func profile(provider: String, privateKey: String) -> Any {
        func fill(_ v: Any) -> Any {
            if var s = v as? String {
                s = s.replacingOccurrences(of: "${PROVIDER}", with: provider)
                    .replacingOccurrences(of: "${CLIENT_ID}", with: id)
                    .replacingOccurrences(of: "${PRIVATE_KEY}", with: privateKey)
                for (name, value) in secrets { s = s.replacingOccurrences(of: "${SECRET:\(name)}", with: value) }
                return s
            }
            if let a = v as? [Any] { return a.map(fill) }
            if let o = v as? [String: Any] { return o.mapValues(fill) }
            return v
        }
        return fill(template["profile"] ?? [:])
    }

    /// The echo fault for one call, with `align_on` from the case's secrets.
    func fault() throws -> String {
        var fault = echo
        fault["route"] = route
        fault["kind"] = "echo"
        fault["count"] = 1
        if echo["align_at"] != nil { fault["align_on"] = secrets.values.flatMap { leakEncodings($0, id) } }
        return String(decoding: try JSONSerialization.data(withJSONObject: fault), as: UTF8.self)
    }
}

/// Every case of the matrix with fresh secrets.
func leakExpandCases() -> [LeakCase] {
    let profiles = leakCases["profiles"] as? [[String: Any]] ?? []
    let echoes = leakCases["echoes"] as? [[String: Any]] ?? []
    return profiles.flatMap { p in
        echoes.enumerated().map { n, echo in
            LeakCase(name: "\(p["id"] ?? "")/\(n)-\(echo["as"] ?? "")", template: p, echo: echo)
        }
    }
}

func leakSummary(_ lang: String, _ cases: Int, _ outputs: Int, _ hits: Int) -> String {
    "leak matrix (\(lang)): \(cases) cases, \(outputs) outputs checked, \(hits) hits"
}
