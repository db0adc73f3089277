//! The two spellings of a connection string, as libpq reads them: a
//! `postgres://`/`postgresql://` URL (percent-encoded parts, `?key=value&…`
//! query, `host=` for a unix-socket directory) and `key=value` pairs with
//! single quotes and backslash escapes. A bare word is a database name, as for
//! psql.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;

/// Raw settings by libpq keyword, before the environment and defaults.
pub type Params = BTreeMap<String, String>;

/// Parses any of the accepted spellings; an empty string gives no settings.
pub fn parse_input(input: &str) -> Result<Params> {
    let input = input.trim();
    if input.starts_with("postgres://") || input.starts_with("postgresql://") {
        parse_url(input)
    } else if input.contains('=') {
        parse_conninfo(input)
    } else if input.is_empty() {
        Ok(Params::new())
    } else if input.contains(char::is_whitespace) || input.contains("://") {
        bail!("connection string '{input}' is neither a postgres:// URL nor key=value pairs")
    } else {
        Ok(Params::from([("dbname".to_string(), input.to_string())]))
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unpct(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).context("bad percent-encoding in URL")?;
            out.push(u8::from_str_radix(hex, 16).context("bad percent-encoding in URL")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("percent-encoded URL part is not UTF-8")
}

pub fn parse_url(url: &str) -> Result<Params> {
    let mut p = Params::new();
    let rest = url.split_once("://").map(|x| x.1).unwrap_or_default();
    let (rest, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, d)) => (a, Some(d)),
        None => (rest, None),
    };
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hp)) => {
            let (u, pw) = match userinfo.split_once(':') {
                Some((u, pw)) => (u, Some(pw)),
                None => (userinfo, None),
            };
            if !u.is_empty() {
                p.insert("user".into(), unpct(u)?);
            }
            if let Some(pw) = pw {
                p.insert("password".into(), unpct(pw)?);
            }
            hp
        }
        None => authority,
    };
    if hostport.contains(',') {
        bail!("URL names several hosts ('{hostport}'); pgalign connects to one host");
    }
    if !hostport.is_empty() {
        let (host, port) = if let Some(stripped) = hostport.strip_prefix('[') {
            let (h, after) = stripped
                .split_once(']')
                .context("URL has an unclosed '[' in its host")?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, port)) => (h.to_string(), Some(port)),
                None => (hostport.to_string(), None),
            }
        };
        if !host.is_empty() {
            p.insert("host".into(), unpct(&host)?);
        }
        if let Some(port) = port.filter(|s| !s.is_empty()) {
            p.insert("port".into(), unpct(port)?);
        }
    }
    if let Some(db) = path.filter(|d| !d.is_empty()) {
        p.insert("dbname".into(), unpct(db)?);
    }
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (unpct(k)?, unpct(v)?);
        // JDBC's spelling, which libpq accepts too.
        if k == "ssl" && v == "true" {
            p.insert("sslmode".into(), "require".into());
        } else {
            p.insert(k, v);
        }
    }
    Ok(p)
}

pub fn parse_conninfo(s: &str) -> Result<Params> {
    let mut p = Params::new();
    let mut chars = s.chars().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    };
    loop {
        skip_ws(&mut chars);
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        skip_ws(&mut chars);
        if chars.next() != Some('=') {
            bail!(
                "connection string: missing '=' after '{key}' (expected a postgres:// URL or key=value pairs)"
            );
        }
        skip_ws(&mut chars);
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.push(chars.next().unwrap_or('\\')),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => bail!("connection string: unterminated quoted value for '{key}'"),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.push(chars.next().unwrap_or('\\'));
                } else {
                    value.push(c);
                }
            }
        }
        p.insert(key, value);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts_are_decoded() {
        let p = parse_url(
            "postgresql://us%40er:p%3Ass@db.example.com:6543/my%20db?sslmode=require&application_name=x%20y",
        )
        .unwrap();
        assert_eq!(p["user"], "us@er");
        assert_eq!(p["password"], "p:ss");
        assert_eq!(p["host"], "db.example.com");
        assert_eq!(p["port"], "6543");
        assert_eq!(p["dbname"], "my db");
        assert_eq!(p["sslmode"], "require");
        assert_eq!(p["application_name"], "x y");
    }

    #[test]
    fn url_host_query_names_a_socket_directory() {
        let p = parse_input("postgres:///shop?host=%2Fvar%2Frun%2Fpostgresql&port=5433").unwrap();
        assert_eq!(p["host"], "/var/run/postgresql");
        assert_eq!(p["port"], "5433");
        assert_eq!(p["dbname"], "shop");
        let p = parse_input("postgres://%2Ftmp/shop").unwrap();
        assert_eq!(p["host"], "/tmp");
    }

    #[test]
    fn url_ipv6_and_ssl_true() {
        let p = parse_input("postgres://[::1]:5433/x?ssl=true").unwrap();
        assert_eq!(p["host"], "::1");
        assert_eq!(p["port"], "5433");
        assert_eq!(p["sslmode"], "require");
        assert!(parse_input("postgres://a,b/x").is_err());
    }

    #[test]
    fn conninfo_quotes_and_escapes() {
        let p = parse_conninfo("host=localhost  port = 5433 password='a b\\'c' dbname=x").unwrap();
        assert_eq!(p["host"], "localhost");
        assert_eq!(p["port"], "5433");
        assert_eq!(p["password"], "a b'c");
        assert_eq!(p["dbname"], "x");
        assert!(parse_conninfo("host=x dbname='open").is_err());
        assert!(parse_conninfo("host").is_err());
    }

    #[test]
    fn bare_word_is_a_database_and_empty_is_nothing() {
        assert_eq!(parse_input("shop").unwrap()["dbname"], "shop");
        assert!(parse_input("  ").unwrap().is_empty());
        assert!(parse_input("two words").is_err());
    }
}
