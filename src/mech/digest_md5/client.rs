//! The DIGEST-MD5 client (RFC 2831 sections 2.1.1 to 2.1.3).
//!
//! States: `Start` → `ExpectChallenge` → `ExpectRspauth { expected, layer }` → `Finished`.
//! The qop and cipher are chosen from the security properties as Cyrus's client does: the
//! strongest offered cipher within `[min_ssf, max_ssf]`, else integrity, else none.

use crate::error::{CredentialKind, Error, ProtocolError, malformed};
use crate::mech::context::ClientContext;
use crate::mech::{ClientMechanism, ClientOutput, SecurityLayer};
use crate::secret::digests_equal;

use super::layer::DigestLayer;
use super::parse::{self, Directives};
use super::{
    Cipher, DEFAULT_MAXBUF, DigestInputs, FIRST_NC, MAX_CHALLENGE, MAX_MAXBUF, MIN_MAXBUF, Qop,
    SsfRange, from_latin1, latin1_or_utf8, quote, response_value, session_key, unhex16,
    user_secret,
};

/// Characters of the client nonce (180 bits).
const CNONCE_LEN: usize = 30;

#[derive(Default)]
enum State {
    #[default]
    Start,
    ExpectChallenge,
    ExpectRspauth {
        expected: [u8; 16],
        layer: Option<Box<DigestLayer>>,
    },
    Finished,
}

#[derive(Default)]
pub(crate) struct DigestMd5Client {
    state: State,
}

/// What the server's challenge offers.
struct Challenge {
    realms: Vec<String>,
    nonce: Vec<u8>,
    qops: Vec<Qop>,
    ciphers: Vec<Cipher>,
    maxbuf: u32,
    utf8: bool,
}

fn parse_challenge(d: &Directives) -> Result<Challenge, Error> {
    let utf8 = match d.get("charset") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case(b"utf-8") => true,
        Some(_) => return Err(malformed("DIGEST-MD5 charset is not utf-8")),
    };
    match d.get("algorithm") {
        Some(v) if v.eq_ignore_ascii_case(b"md5-sess") => {}
        _ => return Err(malformed("DIGEST-MD5 challenge without algorithm=md5-sess")),
    }
    let nonce = d
        .get("nonce")
        .filter(|n| !n.is_empty())
        .ok_or(malformed("DIGEST-MD5 challenge without nonce"))?
        .to_vec();
    let mut realms = Vec::new();
    for realm in d.all("realm") {
        if realm.contains(&0) {
            return Err(malformed("NUL in DIGEST-MD5 realm"));
        }
        realms.push(if utf8 {
            crate::mech::utf8_field(realm, "realm")?.to_owned()
        } else {
            from_latin1(realm)
        });
    }
    // Unknown qop and cipher names are ignored (section 2.1.1).
    let qops = match d.get("qop") {
        None => vec![Qop::Auth],
        Some(v) => parse::list(v)
            .filter_map(|q| std::str::from_utf8(q).ok().and_then(Qop::from_name))
            .collect(),
    };
    let ciphers = d
        .get("cipher")
        .map(|v| {
            parse::list(v)
                .filter_map(|c| std::str::from_utf8(c).ok().and_then(Cipher::from_name))
                .collect()
        })
        .unwrap_or_default();
    let maxbuf = match d.get("maxbuf") {
        None => DEFAULT_MAXBUF,
        Some(v) => std::str::from_utf8(v)
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|n| (MIN_MAXBUF..=MAX_MAXBUF).contains(n))
            .ok_or(malformed("DIGEST-MD5 maxbuf out of range"))?,
    };
    Ok(Challenge {
        realms,
        nonce,
        qops,
        ciphers,
        maxbuf,
        utf8,
    })
}

/// Picks the qop and cipher as Cyrus's client does.
fn choose(range: SsfRange, challenge: &Challenge) -> Result<(Qop, Option<Cipher>), Error> {
    if challenge.qops.contains(&Qop::AuthConf) {
        let best = Cipher::ALL
            .into_iter()
            .filter(|c| challenge.ciphers.contains(c) && range.allows_cipher(*c))
            .max_by_key(|c| c.ssf());
        if let Some(cipher) = best {
            return Ok((Qop::AuthConf, Some(cipher)));
        }
    }
    if range.allows_integrity() && challenge.qops.contains(&Qop::AuthInt) {
        return Ok((Qop::AuthInt, None));
    }
    if range.allows_auth() && challenge.qops.contains(&Qop::Auth) {
        return Ok((Qop::Auth, None));
    }
    Err(Error::TooWeak)
}

/// Encodes a name for the wire: UTF-8 if the server accepts it, else ISO-8859-1.
fn wire_text(text: &str, utf8: bool) -> Result<Vec<u8>, Error> {
    let bytes = latin1_or_utf8(text);
    if !utf8 && !text.is_ascii() && bytes.as_ref() == text.as_bytes() {
        return Err(Error::Config(
            "name not representable in ISO-8859-1 and the server does not accept UTF-8".into(),
        ));
    }
    Ok(if utf8 {
        text.as_bytes().to_vec()
    } else {
        bytes.into_owned()
    })
}

/// The response to send, the `rspauth` to expect, and the layer once it comes.
type Answer = (Vec<u8>, [u8; 16], Option<Box<DigestLayer>>);

impl DigestMd5Client {
    fn respond(ctx: &mut ClientContext<'_>, challenge: &[u8]) -> Result<Answer, Error> {
        let directives = parse::parse(challenge, MAX_CHALLENGE, &["realm"])?;
        let offer = parse_challenge(&directives)?;
        let (qop, cipher) = choose(SsfRange::new(ctx.properties, 0), &offer)?;
        // Cyrus's order: authcid, authzid, password, then a realm from those offered.
        let gathered = ctx.gather(
            &[
                CredentialKind::Authcid,
                CredentialKind::Authzid,
                CredentialKind::Password,
                CredentialKind::Realm,
            ],
            &offer.realms,
        )?;
        let (authcid, password) = (gathered.authcid()?, gathered.password()?);
        let authzid = gathered.authzid;
        let realm = gathered.realm.unwrap_or_default();
        let cnonce = ctx.random().nonce(CNONCE_LEN);
        let digest_uri = format!("{}/{}", ctx.settings.service, ctx.settings.server_fqdn);
        let own_maxbuf = ctx.properties.max_buf_size.clamp(MIN_MAXBUF, MAX_MAXBUF);

        let secret = user_secret(&authcid, &realm, password.expose());
        let key = session_key(
            secret.expose(),
            &offer.nonce,
            cnonce.as_bytes(),
            authzid.as_deref().map(str::as_bytes),
        );
        let inputs = DigestInputs {
            nonce: &offer.nonce,
            nc: FIRST_NC.as_bytes(),
            cnonce: cnonce.as_bytes(),
            qop,
            digest_uri: digest_uri.as_bytes(),
        };
        let response = response_value(&key, &inputs, true);
        let expected = response_value(&key, &inputs, false);

        // The order of RFC 2831's examples.
        let mut out = Vec::with_capacity(300);
        if offer.utf8 {
            out.extend_from_slice(b"charset=utf-8,");
        }
        out.extend_from_slice(b"username=");
        quote(&mut out, &wire_text(&authcid, offer.utf8)?);
        if !realm.is_empty() {
            out.extend_from_slice(b",realm=");
            quote(&mut out, &wire_text(&realm, offer.utf8)?);
        }
        out.extend_from_slice(b",nonce=");
        quote(&mut out, &offer.nonce);
        out.extend_from_slice(b",nc=");
        out.extend_from_slice(FIRST_NC.as_bytes());
        out.extend_from_slice(b",cnonce=");
        quote(&mut out, cnonce.as_bytes());
        out.extend_from_slice(b",digest-uri=");
        quote(&mut out, digest_uri.as_bytes());
        out.extend_from_slice(b",response=");
        out.extend_from_slice(super::hex(&response).as_bytes());
        out.extend_from_slice(b",qop=");
        out.extend_from_slice(qop.name().as_bytes());
        if let Some(cipher) = cipher {
            out.extend_from_slice(b",cipher=");
            out.extend_from_slice(cipher.name().as_bytes());
        }
        if qop != Qop::Auth && own_maxbuf != DEFAULT_MAXBUF {
            out.extend_from_slice(format!(",maxbuf={own_maxbuf}").as_bytes());
        }
        if let Some(authzid) = &authzid {
            out.extend_from_slice(b",authzid=");
            quote(&mut out, authzid.as_bytes());
        }
        let layer = match qop {
            Qop::Auth => None,
            qop => Some(Box::new(DigestLayer::new(
                key.expose(),
                qop,
                cipher,
                true,
                own_maxbuf,
                offer.maxbuf,
            )?)),
        };
        Ok((out, expected, layer))
    }
}

impl ClientMechanism for DigestMd5Client {
    fn start(&mut self, ctx: &mut ClientContext<'_>) -> Result<Option<Vec<u8>>, Error> {
        if !matches!(self.state, State::Start) {
            return Err(Error::State("DIGEST-MD5 started twice"));
        }
        // The server speaks first: the credentials are asked for with its challenge.
        let _ = ctx;
        self.state = State::ExpectChallenge;
        Ok(None)
    }

    fn step(
        &mut self,
        ctx: &mut ClientContext<'_>,
        challenge: &[u8],
    ) -> Result<ClientOutput, Error> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ExpectChallenge => {
                let (response, expected, layer) =
                    Self::respond(ctx, challenge).inspect_err(|error| {
                        // Paused for the user's answers: the same challenge comes again.
                        if matches!(error, Error::NeedCredentials(_)) {
                            self.state = State::ExpectChallenge;
                        }
                    })?;
                self.state = State::ExpectRspauth { expected, layer };
                Ok(ClientOutput::Continue(response))
            }
            State::ExpectRspauth { expected, layer } => {
                // Whatever is wrong with the final message, the server did not prove itself.
                let offered = parse::parse(challenge, MAX_CHALLENGE, &[])
                    .ok()
                    .and_then(|d| d.get("rspauth").and_then(unhex16));
                match offered {
                    Some(offered) if digests_equal(&expected, &offered) => Ok(ClientOutput::Done {
                        response: None,
                        layer: layer.map(|l| l as Box<dyn SecurityLayer>),
                    }),
                    _ => Err(Error::ServerAuthenticationFailed),
                }
            }
            State::Start | State::Finished => Err(ProtocolError::UnexpectedMessage.into()),
        }
    }
}
