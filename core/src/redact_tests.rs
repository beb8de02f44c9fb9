use super::*;

const NASTY: &str = "s3cret/+&%=\"\\ü-tail";

#[test]
fn every_encoding_of_a_secret_is_removed() {
    let r = Redactor::new([NASTY]);
    for quoted in [
        NASTY.to_owned(),
        "s3cret%2F%2B%26%25%3D%22%5C%C3%BC-tail".to_owned(),
        "s3cret%2f%2b%26%25%3d%22%5c%c3%bc-tail".to_owned(),
        r#"s3cret/+&%=\"\\ü-tail"#.to_owned(),
        r#"s3cret\/+&%=\"\\ü-tail"#.to_owned(),
        r#"s3cret/+&%=\"\\\u00fc-tail"#.to_owned(),
        "s3cret/+&amp;%=&quot;\\ü-tail".to_owned(),
        NASTY.bytes().map(char::from).collect::<String>(),
    ] {
        let text = format!("before {quoted} after");
        assert_eq!(r.scrub(&text), "before [redacted] after", "{quoted}");
    }
}

#[test]
fn basic_credentials_are_removed_as_base64() {
    let mut r = Redactor::default();
    r.add_basic("my id", NASTY);
    let b64 = STANDARD.encode(format!(
        "my+id:{}",
        "s3cret%2F%2B%26%25%3D%22%5C%C3%BC-tail"
    ));
    let text = format!("Authorization: Basic {b64}");
    assert_eq!(r.scrub(&text), "Authorization: Basic [redacted]");
}

#[test]
fn tokens_in_a_response_are_learned_from_json_and_from_text() {
    let mut r = Redactor::default();
    r.add_response_tokens(
        br#"{"access_token":"AT-123456","refresh_token":"RT-654321","token_type":"Bearer"}"#,
    );
    assert_eq!(
        r.scrub("AT-123456 RT-654321 Bearer"),
        "[redacted] [redacted] Bearer"
    );
    let mut r = Redactor::default();
    r.add_response_tokens(
        b"access_token=abc%2Fdefgh&token_type=Bearer&refresh_token=zyxwvut\nmore",
    );
    assert_eq!(
        r.scrub("abc%2Fdefgh abc/defgh zyxwvut Bearer"),
        "[redacted] [redacted] [redacted] Bearer"
    );
}

#[test]
fn short_secrets_are_removed_only_as_whole_words() {
    let r = Redactor::new(["ab"]);
    assert_eq!(
        r.scrub("ab cab ab. (ab)"),
        "[redacted] cab [redacted]. ([redacted])"
    );
}

#[test]
fn clean_scrubs_before_it_truncates() {
    let r = Redactor::new([NASTY]);
    let text = format!("{}{NASTY} trailing", "x".repeat(110));
    let cleaned = r.clean(&text, 120);
    assert!(!cleaned.contains("s3cret"), "{cleaned}");
    assert!(cleaned.ends_with('…'), "{cleaned}");
}

#[test]
fn a_secret_split_by_control_characters_is_still_removed() {
    let r = Redactor::new(["abcdefgh"]);
    assert_eq!(r.clean("x abcd\u{1b}[0mefgh y", 100), "x [redacted] y");
}

#[test]
fn terminal_escapes_and_controls_are_stripped() {
    let text = "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\u{1b}[0m\r\nnext\u{9b}1mline\u{202e}rev \u{1b}]8;;http://x\u{1b}\\link";
    let out = printable(text);
    assert_eq!(out, "red nextline rev link");
    assert!(!out.chars().any(char::is_control));
}

#[test]
fn debug_never_shows_the_strings() {
    let r = Redactor::new([NASTY]);
    let debug = format!("{r:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
}

#[test]
fn truncation_marks_the_cut() {
    assert_eq!(truncate("abcdef", 3), "abc…");
    assert_eq!(truncate("abc", 3), "abc");
}

#[test]
fn scrub_removes_echoed_secrets() {
    let text = "bad client_secret=abcd1234 for abcd1234";
    assert_eq!(
        scrub(text, ["abcd1234"]),
        "bad client_secret=[redacted] for [redacted]"
    );
    assert_eq!(
        scrub("ab cab", ["ab"]),
        "[redacted] cab",
        "short secrets go as whole words only"
    );
}
