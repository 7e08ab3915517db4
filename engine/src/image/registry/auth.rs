//! Registry authentication: the `WWW-Authenticate` challenge a registry
//! answers a request with (`Basic realm=…` or Docker's
//! `Bearer realm=…,service=…,scope=…`), and the token request that a
//! Bearer challenge asks for.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// User name and password (or identity token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The `Authorization` value of Basic auth.
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

/// What a registry asked for in `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// Basic auth with user and password.
    Basic,
    /// A token from `realm`, for `service` and `scope`.
    Bearer {
        /// The token server's URL.
        realm: String,
        /// The service the token is for.
        service: Option<String>,
        /// The scope the registry named, if any.
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` value; `None` for schemes berth does
    /// not speak.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        let params = parse_params(rest);
        if scheme.eq_ignore_ascii_case("basic") {
            Some(Self::Basic)
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Some(Self::Bearer {
                realm: params.get("realm")?.clone(),
                service: params.get("service").cloned(),
                scope: params.get("scope").cloned(),
            })
        } else {
            None
        }
    }
}

/// `key="value", key=value` pairs (keys lower-cased; quoted values may
/// hold commas and escaped quotes).
fn parse_params(text: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return params;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
}

/// The scope of a token for `repository` with `actions` (`pull`,
/// `pull,push`).
pub fn repository_scope(repository: &str, actions: &str) -> String {
    format!("repository:{repository}:{actions}")
}

/// The token server's URL for `realm`, `service` and `scope`.
pub fn token_url(realm: &str, service: Option<&str>, scope: Option<&str>) -> String {
    let mut url = realm.to_owned();
    let mut sep = if realm.contains('?') { '&' } else { '?' };
    for (key, value) in [("service", service), ("scope", scope)] {
        if let Some(value) = value {
            url.push(sep);
            url.push_str(key);
            url.push('=');
            url.push_str(&query_escape(value));
            sep = '&';
        }
    }
    url
}

/// `text` escaped for a URL query.
fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A token server's answer: Docker's `token` or OAuth's `access_token`.
#[derive(Debug, serde::Deserialize)]
pub struct TokenResponse {
    /// The token (Docker's name).
    #[serde(default)]
    pub token: Option<String>,
    /// The token (OAuth's name).
    #[serde(default)]
    pub access_token: Option<String>,
}

impl TokenResponse {
    /// The token, whichever field holds it.
    pub fn into_token(self) -> Option<String> {
        self.token
            .filter(|t| !t.is_empty())
            .or(self.access_token)
            .filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_bearer_challenge_names_realm_service_and_scope() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".to_owned(),
                service: Some("registry.docker.io".to_owned()),
                scope: Some("repository:library/busybox:pull,push".to_owned()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=x"), None);
    }

    #[test]
    fn token_urls_escape_the_scope() {
        assert_eq!(
            token_url(
                "http://127.0.0.1:1/token",
                Some("reg"),
                Some(&repository_scope("a/b", "pull,push"))
            ),
            "http://127.0.0.1:1/token?service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(
            token_url("http://t/?x=1", None, Some("s")),
            "http://t/?x=1&scope=s"
        );
    }

    #[test]
    fn basic_credentials_are_base64_and_hidden_from_debug() {
        let c = Credentials {
            username: "aladdin".to_owned(),
            password: "opensesame".to_owned(),
        };
        assert_eq!(c.basic(), "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
        assert!(!format!("{c:?}").contains("opensesame"));
    }

    #[test]
    fn either_token_field_is_taken() {
        let t: TokenResponse = serde_json::from_str(r#"{"access_token":"a"}"#).unwrap();
        assert_eq!(t.into_token().as_deref(), Some("a"));
        let t: TokenResponse = serde_json::from_str(r#"{"token":"b","access_token":"a"}"#).unwrap();
        assert_eq!(t.into_token().as_deref(), Some("b"));
        let t: TokenResponse = serde_json::from_str("{}").unwrap();
        assert_eq!(t.into_token(), None);
    }
}
