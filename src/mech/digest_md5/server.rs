//! The DIGEST-MD5 server (RFC 2831 sections 2.1.1, 2.1.2 and 2.1.3).
//!
//! States: `Start` → `ExpectResponse { offer }` → `Finished`. The offer (nonce, realm, qop
//! and cipher lists, maxbuf) is consumed by the one response it accepts, so a response is
//! never accepted twice, and `nc` must be `00000001` (no reauth).

use crate::error::{Error, malformed};
use crate::log::LogLevel;
use crate::mech::context::{Identity, ServerContext};
use crate::mech::{SecurityLayer, ServerMechanism, ServerOutput, Success};
use crate::secret::{Secret, digests_equal};

use super::layer::DigestLayer;
use super::parse::{self, Directives};
use super::{
    Cipher, DEFAULT_MAXBUF, DigestInputs, FIRST_NC, MAX_MAXBUF, MAX_RESPONSE, MIN_MAXBUF,
    NONCE_LEN, Qop, SsfRange, from_latin1, hex, quote, response_value, session_key, unhex16,
    user_secret,
};

/// What the server offered in its challenge.
struct Offer {
    nonce: String,
    qops: Vec<Qop>,
    ciphers: Vec<Cipher>,
    /// Our maxbuf (what we accept).
    maxbuf: u32,
}

#[derive(Default)]
enum State {
    #[default]
    Start,
    ExpectResponse(Box<Offer>),
    Finished,
}

#[derive(Default)]
pub(crate) struct DigestMd5Server {
    state: State,
}

/// Builds the challenge for `offer` in `realm` (the order of RFC 2831's examples).
fn challenge(realm: &str, offer: &Offer) -> Vec<u8> {
    let mut out = Vec::with_capacity(200);
    out.extend_from_slice(b"realm=");
    quote(&mut out, realm.as_bytes());
    out.extend_from_slice(b",nonce=");
    quote(&mut out, offer.nonce.as_bytes());
    let qops: Vec<&str> = offer.qops.iter().map(|q| q.name()).collect();
    out.extend_from_slice(b",qop=");
    quote(&mut out, qops.join(",").as_bytes());
    if !offer.ciphers.is_empty() {
        let ciphers: Vec<&str> = offer.ciphers.iter().map(|c| c.name()).collect();
        out.extend_from_slice(b",cipher=");
        quote(&mut out, ciphers.join(",").as_bytes());
    }
    if offer.qops.iter().any(|q| *q != Qop::Auth) && offer.maxbuf != DEFAULT_MAXBUF {
        out.extend_from_slice(format!(",maxbuf={}", offer.maxbuf).as_bytes());
    }
    out.extend_from_slice(b",algorithm=md5-sess,charset=utf-8");
    out
}

/// The client's response, checked for syntax.
struct Response<'d> {
    username: String,
    realm: String,
    nonce: &'d [u8],
    cnonce: &'d [u8],
    nc: &'d [u8],
    qop: Qop,
    cipher: Option<Cipher>,
    digest_uri: &'d [u8],
    response: [u8; 16],
    maxbuf: u32,
    authzid: Option<&'d [u8]>,
    authzid_text: Option<String>,
}

fn required<'d>(d: &'d Directives, name: &'static str) -> Result<&'d [u8], Error> {
    d.get(name)
        .ok_or(malformed("DIGEST-MD5 response lacks a required directive"))
}

fn text(value: &[u8], utf8: bool, what: &'static str) -> Result<String, Error> {
    if value.contains(&0) {
        return Err(malformed("NUL in DIGEST-MD5 directive"));
    }
    if utf8 {
        Ok(crate::mech::utf8_field(value, what)?.to_owned())
    } else {
        Ok(from_latin1(value))
    }
}

fn ascii(value: &[u8]) -> Result<&str, Error> {
    std::str::from_utf8(value)
        .ok()
        .filter(|s| s.is_ascii())
        .ok_or(malformed("non-ASCII DIGEST-MD5 token"))
}

fn parse_response(d: &Directives) -> Result<Response<'_>, Error> {
    let utf8 = match d.get("charset") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case(b"utf-8") => true,
        Some(_) => return Err(malformed("DIGEST-MD5 charset is not utf-8")),
    };
    let username = text(required(d, "username")?, utf8, "user name")?;
    if username.is_empty() {
        return Err(malformed("empty DIGEST-MD5 user name"));
    }
    let realm = match d.get("realm") {
        Some(realm) => text(realm, utf8, "realm")?,
        None => String::new(),
    };
    let qop = match d.get("qop") {
        None => Qop::Auth,
        Some(v) => Qop::from_name(ascii(v)?).ok_or(malformed("unknown DIGEST-MD5 qop"))?,
    };
    let cipher = match (qop, d.get("cipher")) {
        (Qop::AuthConf, Some(v)) => {
            Some(Cipher::from_name(ascii(v)?).ok_or(malformed("unknown DIGEST-MD5 cipher"))?)
        }
        (Qop::AuthConf, None) => return Err(malformed("DIGEST-MD5 auth-conf without cipher")),
        _ => None,
    };
    let maxbuf = match d.get("maxbuf") {
        None => DEFAULT_MAXBUF,
        Some(v) => ascii(v)?
            .parse::<u32>()
            .ok()
            .filter(|n| (MIN_MAXBUF..=MAX_MAXBUF).contains(n))
            .ok_or(malformed("DIGEST-MD5 maxbuf out of range"))?,
    };
    let response = unhex16(required(d, "response")?)
        .ok_or(malformed("DIGEST-MD5 response is not 32 hex digits"))?;
    let nc = required(d, "nc")?;
    if nc.len() != 8 || !nc.iter().all(u8::is_ascii_hexdigit) {
        return Err(malformed("DIGEST-MD5 nc is not 8 hex digits"));
    }
    let authzid = d.get("authzid").filter(|z| !z.is_empty());
    let authzid_text = authzid
        .map(|z| text(z, utf8, "authorization identity"))
        .transpose()?;
    let cnonce = required(d, "cnonce")?;
    if cnonce.is_empty() {
        return Err(malformed("empty DIGEST-MD5 cnonce"));
    }
    Ok(Response {
        username,
        realm,
        nonce: required(d, "nonce")?,
        cnonce,
        nc,
        qop,
        cipher,
        digest_uri: required(d, "digest-uri")?,
        response,
        maxbuf,
        authzid,
        authzid_text,
    })
}

/// Whether `uri` is `service/host[/serv-name]` for this server (section 2.1.2,
/// `digest-uri`); with `any_host`, only the service is checked.
fn digest_uri_matches(uri: &[u8], service: &str, fqdn: &str, any_host: bool) -> bool {
    let mut parts = uri.splitn(3, |&b| b == b'/');
    let (Some(serv), Some(host)) = (parts.next(), parts.next()) else {
        return false;
    };
    serv.eq_ignore_ascii_case(service.as_bytes())
        && !host.is_empty()
        && (any_host || host.eq_ignore_ascii_case(fqdn.as_bytes()))
}

impl DigestMd5Server {
    fn offer(ctx: &ServerContext<'_>) -> Result<Offer, Error> {
        let range = SsfRange::new(ctx.properties, ctx.external_ssf);
        let mut qops = Vec::new();
        if range.allows_auth() {
            qops.push(Qop::Auth);
        }
        if range.allows_integrity() {
            qops.push(Qop::AuthInt);
        }
        let ciphers: Vec<Cipher> = Cipher::ALL
            .into_iter()
            .filter(|c| range.allows_cipher(*c))
            .collect();
        if !ciphers.is_empty() {
            qops.push(Qop::AuthConf);
        }
        if qops.is_empty() {
            return Err(Error::TooWeak);
        }
        Ok(Offer {
            nonce: ctx.settings.random.nonce(NONCE_LEN),
            qops,
            ciphers,
            maxbuf: ctx.properties.max_buf_size.clamp(MIN_MAXBUF, MAX_MAXBUF),
        })
    }

    fn verify(
        ctx: &mut ServerContext<'_>,
        offer: &Offer,
        response: &[u8],
    ) -> Result<ServerOutput, Error> {
        let directives = parse::parse(response, MAX_RESPONSE, &[])?;
        let r = parse_response(&directives)?;
        ctx.note_user(&r.username);
        if r.nonce != offer.nonce.as_bytes() {
            ctx.log(
                LogLevel::Fail,
                "DIGEST-MD5: wrong server nonce (replayed response?)",
            );
            return Err(Error::AuthenticationFailed);
        }
        if r.nc != FIRST_NC.as_bytes() {
            ctx.log(
                LogLevel::Fail,
                "DIGEST-MD5: nonce count is not 00000001 (replay or reauth)",
            );
            return Err(Error::AuthenticationFailed);
        }
        if !offer.qops.contains(&r.qop) || r.cipher.is_some_and(|c| !offer.ciphers.contains(&c)) {
            ctx.log(
                LogLevel::Fail,
                "DIGEST-MD5: client chose a qop or cipher not offered",
            );
            return Err(Error::TooWeak);
        }
        let (service, fqdn) = (ctx.settings.service, ctx.settings.fqdn);
        if !digest_uri_matches(
            r.digest_uri,
            service,
            fqdn,
            ctx.settings.digest_uri_any_host,
        ) {
            ctx.log(
                LogLevel::Fail,
                &format!(
                    "DIGEST-MD5: digest-uri {:?} does not match {service}/{fqdn}",
                    String::from_utf8_lossy(r.digest_uri)
                ),
            );
            return Err(Error::AuthenticationFailed);
        }

        let realm = (!r.realm.is_empty()).then_some(r.realm.as_str());
        let identity = ctx.identity_in_realm(&r.username, realm, r.authzid_text.as_deref())?;
        let (secret, reason) = Self::secret(ctx, &r, &identity)?;
        let key = session_key(secret.expose(), r.nonce, r.cnonce, r.authzid);
        let inputs = DigestInputs {
            nonce: r.nonce,
            nc: r.nc,
            cnonce: r.cnonce,
            qop: r.qop,
            digest_uri: r.digest_uri,
        };
        let expected = response_value(&key, &inputs, true);
        let matches = digests_equal(&expected, &r.response);
        if let Some(reason) = reason {
            ctx.log(
                LogLevel::Fail,
                &format!(
                    "DIGEST-MD5: {reason}: {}@{}",
                    identity.authcid, identity.realm
                ),
            );
            return Err(Error::AuthenticationFailed);
        }
        if !matches {
            ctx.log(
                LogLevel::Fail,
                &format!(
                    "DIGEST-MD5: incorrect digest response for {}@{}",
                    identity.authcid, identity.realm
                ),
            );
            return Err(Error::AuthenticationFailed);
        }
        let rspauth = response_value(&key, &inputs, false);
        let layer: Option<Box<dyn SecurityLayer>> = match r.qop {
            Qop::Auth => None,
            qop => Some(Box::new(DigestLayer::new(
                key.expose(),
                qop,
                r.cipher,
                false,
                offer.maxbuf,
                r.maxbuf,
            )?)),
        };
        Ok(ServerOutput::Success(Success {
            identity,
            additional_data: Some(format!("rspauth={}", hex(&rspauth)).into_bytes()),
            layer,
        }))
    }

    /// The user's secret `H(user:realm:password)`: from the plaintext password, else the
    /// stored one if it was stored for exactly this user and realm. Without either, a secret
    /// derived from the server secret, so the same work is done, and the reason to fail.
    fn secret(
        ctx: &ServerContext<'_>,
        r: &Response<'_>,
        identity: &Identity,
    ) -> Result<(Secret, Option<&'static str>), Error> {
        let credentials = ctx.credentials(&identity.authcid, &identity.realm);
        if let Some(password) = credentials.password()? {
            return Ok((user_secret(&r.username, &r.realm, password.expose()), None));
        }
        // The stored secret hashes the stored user and realm names; it fits only when the
        // client hashed the same ones.
        if r.username == identity.authcid
            && r.realm == identity.realm
            && let Some(ha1) = credentials.digest_md5_ha1()?
        {
            return Ok((ha1, None));
        }
        let dummy = user_secret(&r.username, &r.realm, ctx.server_secret());
        Ok((dummy, Some("no DIGEST-MD5 secret for user")))
    }
}

impl ServerMechanism for DigestMd5Server {
    fn start(
        &mut self,
        ctx: &mut ServerContext<'_>,
        _initial: Option<&[u8]>,
    ) -> Result<ServerOutput, Error> {
        // A Cyrus client re-authenticating sends an initial response (nc > 1); without reauth
        // it is ignored and a fresh challenge sent, as Cyrus does on a reauth cache miss.
        if !matches!(self.state, State::Start) {
            return Err(Error::State("DIGEST-MD5 started twice"));
        }
        let offer = Self::offer(ctx)?;
        let realm = ctx
            .settings
            .user_realm
            .unwrap_or(ctx.settings.fqdn)
            .to_owned();
        let challenge = challenge(&realm, &offer);
        self.state = State::ExpectResponse(Box::new(offer));
        Ok(ServerOutput::Challenge(challenge))
    }

    fn step(
        &mut self,
        ctx: &mut ServerContext<'_>,
        response: &[u8],
    ) -> Result<ServerOutput, Error> {
        let State::ExpectResponse(offer) = std::mem::replace(&mut self.state, State::Finished)
        else {
            return Err(crate::error::ProtocolError::UnexpectedMessage.into());
        };
        Self::verify(ctx, &offer, response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_uri_forms() {
        let check = |uri: &[u8], any| digest_uri_matches(uri, "imap", "mail.example.org", any);
        assert!(check(b"imap/mail.example.org", false));
        assert!(check(b"IMAP/Mail.Example.Org", false));
        assert!(check(b"imap/mail.example.org/example.org", false));
        assert!(!check(b"smtp/mail.example.org", false));
        assert!(!check(b"imap/other.example.org", false));
        assert!(check(b"imap/other.example.org", true));
        assert!(!check(b"imap/", true));
        assert!(!check(b"imap", true));
    }
}
