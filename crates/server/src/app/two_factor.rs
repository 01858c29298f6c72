//! Two-factor authentication (docs/PEOPLE.md): a user sets TOTP up
//! (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of drift each
//! way), confirms it with a code and receives ten backup codes, and may
//! turn it off with a code unless their account requires it. A TOTP code
//! is accepted only for a step later than the last one accepted (replay
//! protection, a compare-and-set in the store); a backup code once.
//! Secrets are sealed with the server's key before they reach the store;
//! backup codes are kept as hashes only.

use serde_json::json;
use sha2::{Digest, Sha256};
use switchboard_core::access::Permission;
use switchboard_core::audit::AuditAction;
use switchboard_core::lifecycle::EndedSessions;
use switchboard_core::two_factor::TwoFactorRecord;
use switchboard_core::{AccountId, Principal, Resource, UserId};
use totp_rs::{Algorithm, Secret, Totp};

use super::{App, AppError, Caller};
use crate::secret_key::SecretKey;

/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "Switchboard";
/// Backup codes given at confirmation.
pub const BACKUP_CODE_COUNT: usize = 10;
/// The seconds of a TOTP step, and the digits of a code.
const STEP_SECS: u64 = 30;
const DIGITS: u8 = 6;
/// Steps of drift accepted each way.
const SKEW: u16 = 1;
/// Bytes of a TOTP secret (160 bits, RFC 4226's recommendation).
const SECRET_BYTES: usize = 20;
/// Backup codes are drawn from 32 characters that cannot be mistaken for
/// one another (no i, l, o, u), five bits each, ten per code.
const BACKUP_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstvwxyz0123456789";
const BACKUP_CODE_CHARS: usize = 10;

/// A pending setup: the secret to type or scan (base32) and its
/// `otpauth://` URI.
#[derive(Debug, Clone)]
pub struct TwoFactorSetup {
    pub secret: String,
    pub otpauth_uri: String,
}

/// The backup codes of a confirmed setup, shown once.
#[derive(Debug, Clone)]
pub struct BackupCodes(pub Vec<String>);

/// A code that is wrong, or right but already used.
const WRONG_CODE: &str = "wrong or already used two-factor code";

impl App {
    /// Starts (or starts again) the caller's TOTP setup. Not active until
    /// confirmed; refused (`conflict`) while 2FA is on.
    pub async fn begin_two_factor(&self, who: &Principal) -> Result<TwoFactorSetup, AppError> {
        let key = self.sealing_key()?;
        let user = self
            .store
            .user(who.id())
            .await?
            .ok_or(AppError::Unauthorized("invalid or expired token"))?;
        let mut bytes = [0u8; SECRET_BYTES];
        rand::fill(&mut bytes);
        let sealed = key.seal(&bytes, owner(user.id).as_bytes());
        self.store.begin_two_factor(user.id, &sealed).await?;
        let secret = Secret::from(bytes).to_base32();
        let otpauth_uri = otpauth_uri(&user.email, &secret);
        tracing::info!(user = %user.id, "two-factor setup begun");
        Ok(TwoFactorSetup {
            secret,
            otpauth_uri,
        })
    }

    /// Turns the caller's pending setup on with a code of its secret;
    /// returns the backup codes (stored hashed, shown only now).
    pub async fn confirm_two_factor(
        &self,
        who: &Principal,
        code: &str,
    ) -> Result<BackupCodes, AppError> {
        let user = who.id();
        let record = match self.store.two_factor(user).await? {
            Some(record) if !record.confirmed => record,
            Some(_) => {
                return Err(AppError::Conflict(
                    "two-factor authentication is already on".into(),
                ));
            }
            None => {
                return Err(AppError::Conflict(
                    "no two-factor setup is pending: POST /v1/me/2fa/setup first".into(),
                ));
            }
        };
        let step = self
            .totp_step(user, &record, code)?
            .ok_or_else(|| AppError::forbidden(WRONG_CODE))?;
        let codes: Vec<String> = (0..BACKUP_CODE_COUNT).map(|_| new_backup_code()).collect();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| backup_code_hash(user, c)).collect();
        let confirmed = self
            .store
            .confirm_two_factor(user, &record.sealed_secret, step, &hashes)
            .await?;
        if !confirmed {
            return Err(AppError::Conflict(
                "the setup was replaced meanwhile: confirm the newest one".into(),
            ));
        }
        tracing::info!(%user, "two-factor authentication on");
        let caller = Caller::User(who);
        self.audit(
            caller,
            who.account_id(),
            AuditAction::TwoFactorEnabled,
            Some(user),
            json!({}),
        )
        .await;
        Ok(BackupCodes(codes))
    }

    /// Turns the caller's 2FA off with a code (TOTP or backup); a pending
    /// setup is simply dropped. Refused (`conflict`) while the account
    /// requires 2FA.
    pub async fn disable_two_factor(&self, who: &Principal, code: &str) -> Result<(), AppError> {
        let user = who.id();
        if self.store.two_factor_required(who.account_id()).await? {
            return Err(AppError::Conflict(
                "this account requires two-factor authentication: it cannot be turned off".into(),
            ));
        }
        let Some(record) = self.store.two_factor(user).await? else {
            return Err(AppError::Conflict(
                "two-factor authentication is not on".into(),
            ));
        };
        if record.confirmed && !self.second_factor_accepted(user, &record, code).await? {
            return Err(AppError::forbidden(WRONG_CODE));
        }
        self.store.disable_two_factor(user).await?;
        if record.confirmed {
            tracing::info!(%user, "two-factor authentication off");
            let caller = Caller::User(who);
            self.audit(
                caller,
                who.account_id(),
                AuditAction::TwoFactorDisabled,
                Some(user),
                json!({}),
            )
            .await;
        }
        Ok(())
    }

    /// Sets whether the account requires 2FA of everyone (`settings.manage`
    /// at the root); returns the setting now. Users without 2FA are held
    /// to setting it up from their next request on.
    pub async fn set_require_two_factor(
        &self,
        caller: Caller<'_>,
        account: AccountId,
        required: bool,
    ) -> Result<bool, AppError> {
        let resource = Resource::Account(account);
        self.check(
            caller,
            Permission::SettingsManage,
            resource,
            "no such account",
        )
        .await?;
        if self
            .store
            .set_two_factor_required(account, required)
            .await?
        {
            tracing::info!(%account, required, "account's 2fa requirement changed");
            let detail = json!({"setting": "require_2fa", "value": required});
            self.audit(caller, account, AuditAction::SettingsChanged, None, detail)
                .await;
            if required {
                self.hold_open_connections_to_enrolment(account).await?;
            }
        }
        Ok(required)
    }

    /// The account now requires 2FA: the open connections of its users who
    /// have not set it up are closed on every node (their sessions stay,
    /// good only for setting 2FA up; a new connection is refused with
    /// `2fa_required` until they confirm).
    async fn hold_open_connections_to_enrolment(&self, account: AccountId) -> Result<(), AppError> {
        let Some(hub) = &self.hub else {
            return Ok(());
        };
        for user in self.store.users_of(account).await? {
            if self.store.must_enroll_two_factor(user.id).await? {
                hub.sessions_ended(user.id, EndedSessions::All).await;
            }
        }
        Ok(())
    }

    /// Whether the account requires 2FA.
    pub async fn require_two_factor(&self, account: AccountId) -> Result<bool, AppError> {
        Ok(self.store.two_factor_required(account).await?)
    }

    /// The second factor of a login whose password was right: nothing
    /// without 2FA on; else a TOTP code or a backup code, once.
    pub(super) async fn check_second_factor(
        &self,
        user: UserId,
        code: Option<&str>,
    ) -> Result<(), AppError> {
        let Some(record) = self.store.two_factor(user).await? else {
            return Ok(());
        };
        if !record.confirmed {
            return Ok(());
        }
        let code = code.map(str::trim).filter(|c| !c.is_empty());
        let Some(code) = code else {
            return Err(AppError::TotpRequired);
        };
        if self.second_factor_accepted(user, &record, code).await? {
            Ok(())
        } else {
            Err(AppError::Unauthorized(WRONG_CODE))
        }
    }

    /// Whether `code` is a TOTP code of a step not accepted before (which
    /// it claims), or an unused backup code (which it uses up).
    async fn second_factor_accepted(
        &self,
        user: UserId,
        record: &TwoFactorRecord,
        code: &str,
    ) -> Result<bool, AppError> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() == usize::from(DIGITS) && code.bytes().all(|b| b.is_ascii_digit()) {
            return match self.totp_step(user, record, &code)? {
                Some(step) => Ok(self.store.claim_totp_step(user, step).await?),
                None => Ok(false),
            };
        }
        let hash = backup_code_hash(user, &code);
        Ok(self.store.use_backup_code(user, &hash).await?)
    }

    /// The step whose code `code` is (within the drift), by the secret of
    /// `record`, if any; not yet checked against the last accepted.
    fn totp_step(
        &self,
        user: UserId,
        record: &TwoFactorRecord,
        code: &str,
    ) -> Result<Option<i64>, AppError> {
        let key = self.sealing_key()?;
        let secret = key
            .open(&record.sealed_secret, owner(user).as_bytes())
            .map_err(|error| {
                tracing::error!(%user, %error, "a two-factor secret does not open: was the secret key changed?");
                AppError::Internal
            })?;
        let totp = totp(secret)?;
        let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
        Ok(totp
            .check(code.trim(), now)
            .and_then(|step| i64::try_from(step).ok()))
    }

    fn sealing_key(&self) -> Result<&SecretKey, AppError> {
        self.secret_key.as_ref().ok_or_else(|| {
            tracing::error!("two-factor authentication used without a secret key");
            AppError::Internal
        })
    }
}

/// What a sealed secret is bound to: its user.
fn owner(user: UserId) -> String {
    user.as_uuid().to_string()
}

fn totp(secret: Vec<u8>) -> Result<Totp, AppError> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .build()
        .map_err(|error| {
            tracing::error!(%error, "a stored two-factor secret is not usable");
            AppError::Internal
        })
}

/// The `otpauth://` URI authenticator apps read (the key URI format):
/// issuer and email as the label, every parameter spelled out.
fn otpauth_uri(email: &str, secret: &str) -> String {
    format!(
        "otpauth://totp/{issuer}:{label}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        issuer = ISSUER,
        label = percent_encode(email),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A new backup code, `xxxxx-xxxxx` (50 random bits).
fn new_backup_code() -> String {
    let mut bytes = [0u8; BACKUP_CODE_CHARS];
    rand::fill(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| char::from(BACKUP_ALPHABET[usize::from(b % 32)]))
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// What the store keeps of a backup code: the SHA-256 of the user and the
/// code as typed without dashes or spaces, in lowercase (so `ABCDE-FGHJK`
/// and `abcdefghjk` are one code, and one user's code is nobody else's).
fn backup_code_hash(user: UserId, code: &str) -> [u8; 32] {
    let normalized: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let mut hasher = Sha256::new();
    hasher.update(b"switchboard backup code\0");
    hasher.update(user.as_uuid().as_bytes());
    hasher.update(normalized.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_are_random_and_hash_alike_however_typed() {
        let a = new_backup_code();
        assert_eq!(a.len(), 11);
        assert_eq!(&a[5..6], "-");
        assert_ne!(a, new_backup_code());
        let user = UserId::new();
        let typed = a.to_uppercase().replace('-', " ");
        assert_eq!(backup_code_hash(user, &a), backup_code_hash(user, &typed));
        assert_ne!(
            backup_code_hash(user, &a),
            backup_code_hash(UserId::new(), &a)
        );
    }

    #[test]
    fn the_otpauth_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("ann+x@acme.test", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Switchboard:ann%2Bx%40acme.test?secret=JBSWY3DPEHPK3PXP\
             &issuer=Switchboard&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn codes_are_those_of_rfc_6238() {
        // RFC 6238 appendix B, SHA-1, truncated to six digits.
        let totp = totp(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(totp.check("287082", 59 + 30), Some(1), "one step late");
        assert_eq!(totp.check("287082", 59 + 60), None, "two steps late");
    }
}
