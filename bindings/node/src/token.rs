//! Tokens as handed to JavaScript, and token options as JavaScript gives them.

use std::time::{Duration, UNIX_EPOCH};

use napi::bindgen_prelude::{Either, ToNapiValue};
use napi::{check_status, sys};
use tokenbroker::{AccessToken, TokenOptions};

use crate::errors::to_napi;

/// A token as handed to JavaScript: the array
/// `[accessToken, tokenType, header, expiresAtMs, id, ...scopes]`, which the JS layer wraps in
/// `AccessToken`. An array is several times cheaper to build than an object with named
/// properties, and this is the hot path of every cached call.
pub struct TokenData(pub(crate) AccessToken);

impl ToNapiValue for TokenData {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let t = &val.0;
        let expires_at = t
            .expires_at()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as f64)
            .unwrap_or(0.0);
        let scopes = t.scopes();
        let mut array = std::ptr::null_mut();
        // SAFETY: `env` is the live environment napi hands to this conversion; every value
        // set below is created in it.
        unsafe {
            check_status!(sys::napi_create_array_with_length(
                env,
                5 + scopes.len(),
                &mut array
            ))?;
            let items = [
                <&str>::to_napi_value(env, t.secret())?,
                <&str>::to_napi_value(env, t.token_type())?,
                String::to_napi_value(env, t.header())?,
                f64::to_napi_value(env, expires_at)?,
                f64::to_napi_value(env, t.id() as f64)?,
            ];
            for (i, item) in items.into_iter().enumerate() {
                check_status!(sys::napi_set_element(env, array, i as u32, item))?;
            }
            for (i, scope) in scopes.iter().enumerate() {
                let value = <&str>::to_napi_value(env, scope)?;
                check_status!(sys::napi_set_element(env, array, (5 + i) as u32, value))?;
            }
        }
        Ok(array)
    }
}

/// `true` when `token` is the one the JS layer already converted, else the token's data.
pub(crate) fn known(token: AccessToken, known_id: Option<f64>) -> Either<bool, TokenData> {
    if known_id == Some(token.id() as f64) {
        Either::A(true)
    } else {
        Either::B(TokenData(token))
    }
}

/// Token options from their JS values; `rejected` is the core id of the refused token.
pub(crate) fn options(
    scopes: Option<Vec<String>>,
    min_ttl: Option<f64>,
    force_refresh: Option<bool>,
    rejected: Option<f64>,
) -> napi::Result<TokenOptions> {
    let min_ttl = match min_ttl {
        None => Duration::ZERO,
        Some(s) => tokenbroker::seconds_arg("token options, key 'minTtl'", s).map_err(to_napi)?,
    };
    Ok(TokenOptions {
        scopes,
        min_ttl,
        force_refresh: force_refresh.unwrap_or(false),
        rejected: rejected.map(|id| id as u64),
    })
}
