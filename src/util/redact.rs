//! The one redaction function (DESIGN.md §6): every file pgalign writes and
//! every line it prints passes through [`redact`].
//!
//! What it removes, wherever it appears in a text:
//! - the password of a URL's user info, scheme typo'd or not
//!   (`postgresq://u:pw@h` → `postgresq://u@h`), also `u:pw@host` without a scheme;
//! - the value of every assignment whose key names a secret
//!   (`password=…`, `sslpassword=…`, `PGPASSWORD=…`, `DB_PASSWORD=…`,
//!   `API_TOKEN=…`, `?access_token=…`, `CLIENT_SECRET=…`, `--password=…`),
//!   quoted (`'…'` with `\'` escapes, `"…"`) or not → `KEY=***`.
//!
//! It errs on the side of removing too much: a value ends at unquoted white
//! space (or `&`/`#` inside a URL query), never earlier, so a password holding
//! `;` or `@` is not cut in two.

/// The text with every password and token replaced (see the module doc).
pub fn redact(s: &str) -> String {
    // A password in user info needs an `@`; an assignment needs an `=`.
    let s = if s.contains('@') {
        std::borrow::Cow::Owned(redact_userinfo(s))
    } else {
        std::borrow::Cow::Borrowed(s)
    };
    if s.contains('=') {
        redact_assignments(&s)
    } else {
        s.into_owned()
    }
}

/// True when [`redact`] would change `s`: the text holds a secret.
pub fn holds_secret(s: &str) -> bool {
    redact(s) != s
}

/// Characters that end a word in running text.
fn ends_word(c: char) -> bool {
    ends_url(c) || matches!(c, '(' | ')' | '[' | ']' | ',' | '{' | '}')
}

/// Characters that end a URL: white space and quotes (a password may hold
/// brackets, commas or parentheses, unencoded).
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '<' | '>')
}

/// `scheme://user:pw@host…` → `scheme://user@host…`; `user:pw@host` alike.
fn redact_userinfo(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        // The next word start: after `://`, or a bare word holding `:` then `@`.
        let Some((start, skip)) = next_authority(rest) else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start + skip]);
        rest = &rest[start + skip..];
        let word_end = rest.find(ends_url).unwrap_or(rest.len());
        let word = &rest[..word_end];
        match userinfo_end(word) {
            Some((colon, at)) => {
                out.push_str(&word[..colon]);
                out.push_str(&word[at..]);
            }
            None => out.push_str(word),
        }
        rest = &rest[word_end..];
    }
}

/// Where the next authority begins in `s`, and how many bytes of its prefix to
/// copy as they are (`://`, or nothing for a bare `user:pw@host` word).
fn next_authority(s: &str) -> Option<(usize, usize)> {
    let url = s.find("://").map(|i| (i, 3));
    // A bare `user:pw@host` word: starts at a word boundary, has `:` and a later `@`.
    let mut bare = None;
    let mut word_start = 0;
    for (i, c) in s.char_indices() {
        if let Some((u, _)) = url
            && i >= u
        {
            break;
        }
        if ends_word(c) || c == '=' {
            word_start = i + c.len_utf8();
            continue;
        }
        if c == '@' {
            let word = &s[word_start..i];
            if let Some(colon) = word.find(':')
                && colon > 0
                && !word[..colon].contains(['/', '?', '#'])
                && !word[colon + 1..].is_empty()
            {
                bare = Some((word_start, 0));
                break;
            }
        }
    }
    match (url, bare) {
        (_, Some(b)) => Some(b),
        (u, None) => u,
    }
}

/// In an authority word (`user:pw@host:5432/db?x=y`), the byte offsets of the
/// `:` that starts the password and of the `@` that ends it.
fn userinfo_end(word: &str) -> Option<(usize, usize)> {
    let authority_end = word.find(['/', '?', '#']).unwrap_or(word.len());
    let authority = &word[..authority_end];
    if let Some(at) = authority.rfind('@') {
        let colon = authority[..at].find(':')?;
        return Some((colon, at));
    }
    // No `@` before the path: a password holding `/`, `?` or `#` unencoded
    // (`u:pa/ss@host`), unless the `:` is a port (`host:5432/db?user=a@b`).
    let colon = authority.find(':')?;
    let after = &authority[colon + 1..];
    if after.chars().all(|c| c.is_ascii_digit() || c == ',') {
        return None;
    }
    let at = word.rfind('@')?;
    (at > colon).then_some((colon, at))
}

/// Keys whose value is a secret: keys ending in `password` or `passwd`
/// (`PGPASSWORD`, `sslpassword`, `--password`; not `password_hash`), keys
/// holding `secret` or `token` (`AWS_SECRET_ACCESS_KEY`, `access_token`), and
/// keys that are or end in `_pwd`, `_pass`, `apikey`, `api_key`,
/// `private_key`, `credentials`, `auth`, `sig`, `signature`.
fn secret_key(key: &str) -> bool {
    // Most keys of running text are short words (`a = b`, `t.total = 1`).
    if key.len() < 3 {
        return false;
    }
    let k = key.to_ascii_lowercase();
    let k = k.trim_start_matches('-');
    if k.ends_with("password")
        || k.ends_with("passwd")
        || k.contains("secret")
        || k.contains("token")
    {
        return true;
    }
    [
        "pwd",
        "pass",
        "apikey",
        "api_key",
        "api-key",
        "private_key",
        "credential",
        "credentials",
        "auth",
        "sig",
        "signature",
    ]
    .iter()
    .any(|w| {
        k == *w
            || k.strip_suffix(w)
                .is_some_and(|head| head.ends_with(['_', '-', '.']))
    })
}

fn key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `KEY=value` → `KEY=***` for every secret key (see [`secret_key`]).
fn redact_assignments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            i += 1;
            continue;
        }
        // The key: the identifier right before `=` (spaces allowed between).
        let before = s[..i].trim_end();
        let key_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| key_char(*c))
            .last()
            .map(|(j, _)| j);
        let Some(key_start) = key_start else {
            i += 1;
            continue;
        };
        let key = &before[key_start..];
        if !secret_key(key) {
            i += 1;
            continue;
        }
        let in_query = before[..key_start].ends_with(['?', '&']);
        let value = &s[i + 1..];
        let lead = value.len() - value.trim_start().len();
        let start = i + 1 + lead;
        let len = value_len(&s[start..], in_query);
        if len == 0 || s[start..start + len] == *"***" {
            i += 1;
            continue;
        }
        out.push_str(&s[pos..start]);
        out.push_str("***");
        pos = start + len;
        i = pos;
    }
    out.push_str(&s[pos..]);
    out
}

/// Length of an assignment's value: a shell-like word (quotes and backslash
/// escapes kept together) up to unquoted white space; in a URL query also up
/// to `&` or `#`.
fn value_len(v: &str, in_query: bool) -> usize {
    let mut chars = v.char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match quote {
            Some(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c.is_whitespace() || (in_query && matches!(c, '&' | '#')) {
                    return i;
                }
                match c {
                    '\'' | '"' => quote = Some(c),
                    '\\' => {
                        chars.next();
                    }
                    _ => {}
                }
            }
        }
    }
    v.len()
}

/// [`redact`] applied to every string of a JSON value (the report's JSON).
pub fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if holds_secret(s) => *s = redact(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// Bytes the string scan of [`JsonRedactor`] stops at: the end of a string,
/// an escape, and what a secret needs (`=` of an assignment, `@` of a URL).
static STRING_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'=' as usize] = true;
    t[b'@' as usize] = true;
    t
};

/// A writer of JSON text that passes every JSON string through [`redact`] on
/// its way, so that a streamed document (the 100 MB live model of a sidecar, a
/// journal line) is redacted without being held as a `serde_json::Value`.
/// Bytes outside strings, and strings without a secret, are written unchanged:
/// a document without secrets comes out byte for byte as serde_json wrote it.
/// Give it large writes (a `BufWriter` in front): runs of bytes that need no
/// change are passed on in one piece.
pub struct JsonRedactor<W: std::io::Write> {
    inner: W,
    in_string: bool,
    escaped: bool,
    /// The current string holds `=` or `@`: it may hold a secret.
    suspect: bool,
    /// The content so far of a string begun in an earlier write.
    buf: Vec<u8>,
    buffering: bool,
}

impl<W: std::io::Write> JsonRedactor<W> {
    pub fn new(inner: W) -> JsonRedactor<W> {
        JsonRedactor {
            inner,
            in_string: false,
            escaped: false,
            suspect: false,
            buf: Vec::new(),
            buffering: false,
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Writes a suspect string's content (without its quotes), redacted.
    fn emit_suspect(inner: &mut W, content: &[u8]) -> std::io::Result<()> {
        // Without escapes the content is the text itself.
        if !content.contains(&b'\\')
            && let Ok(text) = std::str::from_utf8(content)
        {
            if !holds_secret(text) {
                return inner.write_all(content);
            }
            let encoded = serde_json::to_string(&redact(text)).map_err(std::io::Error::other)?;
            return inner.write_all(&encoded.as_bytes()[1..encoded.len() - 1]);
        }
        let mut quoted = Vec::with_capacity(content.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(content);
        quoted.push(b'"');
        let Ok(text) = serde_json::from_slice::<String>(&quoted) else {
            return inner.write_all(content);
        };
        let red = redact(&text);
        if red == text {
            return inner.write_all(content);
        }
        let encoded = serde_json::to_string(&red).map_err(std::io::Error::other)?;
        inner.write_all(&encoded.as_bytes()[1..encoded.len() - 1])
    }
}

impl<W: std::io::Write> std::io::Write for JsonRedactor<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        // `data[run..i]` is passed on unchanged; a string that must be looked
        // at ends the run before its content.
        let mut run = 0;
        let mut i = 0;
        let mut content_start = 0;
        while i < data.len() {
            if !self.in_string {
                match data[i..].iter().position(|&b| b == b'"') {
                    None => break,
                    Some(p) => {
                        i += p + 1;
                        self.in_string = true;
                        self.suspect = false;
                        content_start = i;
                    }
                }
                continue;
            }
            let mut closed = false;
            let (mut escaped, mut suspect) = (self.escaped, self.suspect);
            while i < data.len() {
                if escaped {
                    escaped = false;
                    i += 1;
                    continue;
                }
                match data[i..].iter().position(|&b| STRING_SPECIAL[b as usize]) {
                    None => i = data.len(),
                    Some(p) => {
                        i += p;
                        match data[i] {
                            b'\\' => escaped = true,
                            b'"' => {
                                closed = true;
                                break;
                            }
                            // `=` or `@`; serde never escapes either
                            _ => suspect = true,
                        }
                        i += 1;
                    }
                }
            }
            (self.escaped, self.suspect) = (escaped, suspect);
            if !closed {
                // The string goes on in the next write: keep what we have.
                if !self.buffering {
                    self.inner.write_all(&data[run..content_start])?;
                    self.buf.clear();
                    self.buffering = true;
                }
                self.buf.extend_from_slice(&data[content_start..]);
                return Ok(data.len());
            }
            // The closing quote is at `i`.
            if self.buffering {
                self.buf.extend_from_slice(&data[content_start..i]);
                let content = std::mem::take(&mut self.buf);
                if self.suspect {
                    Self::emit_suspect(&mut self.inner, &content)?;
                } else {
                    self.inner.write_all(&content)?;
                }
                self.buf = content;
                self.buffering = false;
                run = i;
            } else if self.suspect {
                self.inner.write_all(&data[run..content_start])?;
                Self::emit_suspect(&mut self.inner, &data[content_start..i])?;
                run = i;
            }
            self.in_string = false;
            i += 1;
        }
        if self.in_string && !self.buffering {
            // A string opened by the last byte of this write.
            self.inner.write_all(&data[run..content_start])?;
            self.buf.clear();
            self.buffering = true;
            return Ok(data.len());
        }
        self.inner.write_all(&data[run..])?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "PW-canary";

    fn hides(input: &str) -> String {
        let out = redact(input);
        assert!(!out.contains(PW), "{input:?} → {out:?}");
        assert!(!out.contains("canary"), "{input:?} → {out:?}");
        assert!(holds_secret(input), "{input:?}");
        assert_eq!(redact(&out), out, "redaction is stable: {out:?}");
        out
    }

    #[test]
    fn url_passwords_go_scheme_typo_or_not() {
        assert_eq!(
            hides("postgresql://u:PW-canary@db.example.com:5432/shop"),
            "postgresql://u@db.example.com:5432/shop"
        );
        assert_eq!(
            hides("invalid URL postgresq://u:PW-canary@h/db: unknown scheme"),
            "invalid URL postgresq://u@h/db: unknown scheme"
        );
        assert_eq!(hides("postgres://:PW-canary@h/db"), "postgres://@h/db");
        hides("postgres://u:PW-canary@h1:5432,h2:5433/db?sslmode=require");
        hides("'postgres://u:PW-canary@h/db'");
        hides("`postgres://u:PW-canary@h/db`");
        // A password with unencoded `@`, `/`, `?`, `#` or `:` in it.
        assert_eq!(hides("postgres://u:p@PW-canary@h/db"), "postgres://u@h/db");
        assert_eq!(hides("postgres://u:pa/PW-canary@h/db"), "postgres://u@h/db");
        hides("postgres://u:x?PW-canary#y@h/db");
        hides("postgres://u:a:PW-canary@h/db");
        // Without a scheme.
        assert_eq!(hides("u:PW-canary@db:5432/shop"), "u@db:5432/shop");
        assert_eq!(hides("at u:PW-canary@db"), "at u@db");
        hides("https://deploy:PW-canary@git.example.com/repo.git");
    }

    #[test]
    fn conninfo_passwords_go_quoted_or_not() {
        assert_eq!(
            hides("host=db password=PW-canary user=app"),
            "host=db password=*** user=app"
        );
        assert_eq!(hides("password = 'PW-canary x'"), "password = ***");
        assert_eq!(
            hides(r"password='a\'PW-canary' dbname=x"),
            "password=*** dbname=x"
        );
        hides("PASSWORD=PW-canary");
        hides("sslpassword=PW-canary");
        hides("password=\"PW-canary with spaces\"");
        hides("host=h password=PW-canary;still-the-password dbname=d");
        hides("password=PW-canary");
    }

    #[test]
    fn assignments_in_commands_go() {
        assert_eq!(
            hides("cmd:PGPASSWORD=PW-canary psql -h db -Atc 'select 1'"),
            "cmd:PGPASSWORD=*** psql -h db -Atc 'select 1'"
        );
        hides("cmd:env DB_PASSWORD='PW-canary' ./dump.sh");
        hides("cmd:MYSQL_PWD=PW-canary x");
        hides("GITHUB_TOKEN=PW-canary make schema");
        hides("export AWS_SECRET_ACCESS_KEY=x; CLIENT_SECRET=PW-canary run");
        hides("API_KEY=PW-canary");
        hides("cmd:prisma migrate diff --password=PW-canary --script");
        hides("VAULT_TOKEN=PW-canary\nnext line");
        hides("PGPASSWORD='ab'\\''PW-canary' psql");
    }

    #[test]
    fn tokens_in_url_queries_go() {
        assert_eq!(
            hides("https://h/schema.sql?token=PW-canary&x=1"),
            "https://h/schema.sql?token=***&x=1"
        );
        hides("https://h/s?access_token=PW-canary");
        hides("postgres://h/db?sslpassword=PW-canary&sslmode=verify-full");
        hides("postgres://h/db?user=u&password=PW-canary");
        hides("https://bucket.s3/x?X-Amz-Signature=PW-canary&y=z");
        hides("https://h/x?sig=PW-canary");
    }

    #[test]
    fn streamed_json_is_redacted_string_by_string() {
        use std::io::Write;
        let v = serde_json::json!({
            "at": "2026-01-01T00:00:00Z",
            "desired": "cmd:PGPASSWORD=PW-canary psql -c \"select '\\\\'\"",
            "n": [1, 2, {"u": "postgres://u:PW-canary@h/db"}],
            "plain": "a = b, c@d: \u{1b}[2K",
        });
        let text = serde_json::to_string(&v).unwrap();
        // Written in chunks of every size, split anywhere (inside escapes too).
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let mut w = JsonRedactor::new(Vec::new());
            for piece in text.as_bytes().chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            let out = String::from_utf8(w.into_inner()).unwrap();
            assert!(!out.contains("canary"), "{out}");
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                back["desired"],
                "cmd:PGPASSWORD=*** psql -c \"select '\\\\'\""
            );
            assert_eq!(back["n"][2]["u"], "postgres://u@h/db");
            assert_eq!(back["plain"], v["plain"]);
        }
        let clean = serde_json::to_string(&serde_json::json!({
            "a": "x=1 y@z", "b": 2, "c": ["q\\\"=\"", "", "@"], "d": {"e=": "f"}
        }))
        .unwrap();
        for chunk in [1, 2, 3, 5, 4096] {
            let mut w = JsonRedactor::new(Vec::new());
            for piece in clean.as_bytes().chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            assert_eq!(w.into_inner(), clean.as_bytes(), "chunks of {chunk}");
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for s in [
            "no secrets here: passwords are long",
            "postgres://app@db.example.com:5432/shop?sslmode=require",
            "postgresql://db:5432/shop?user=a@b",
            "host=db port=5432 user=app dbname=shop",
            "user@host:5432/db",
            "ALTER TABLE public.t ADD COLUMN password text",
            "12:30 at noon",
            "step 3 (2 lines): create table public.tokens",
            "password_hash = crypt(x)",
            "error at line 3: syntax error at or near \"=\"",
            "",
        ] {
            assert_eq!(redact(s), s);
            assert!(!holds_secret(s), "{s}");
        }
    }
}
