//! Tokens as handed to JavaScript, and token options as JavaScript gives them.

use std::time::UNIX_EPOCH;

use napi::bindgen_prelude::{Either, ToNapiValue};
use napi::{check_status, sys};
use tokenbroker::{AccessToken, ScopesArg, TokenOptions};

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

/// Scopes as JavaScript passes them: one space-separated string, or an array.
pub(crate) type JsScopes = Either<String, Vec<String>>;

/// JavaScript's scopes as the core parses them.
pub(crate) fn scopes_arg(scopes: Option<JsScopes>) -> Option<ScopesArg> {
    scopes.map(|s| match s {
        Either::A(text) => ScopesArg::Text(text),
        Either::B(list) => ScopesArg::List(list),
    })
}

/// Token options from their JS values, parsed and checked by the core; `rejected` is the
/// core id of the refused token.
pub(crate) fn options(
    scopes: Option<JsScopes>,
    min_ttl: Option<f64>,
    force_refresh: Option<bool>,
    rejected: Option<f64>,
) -> napi::Result<TokenOptions> {
    TokenOptions::from_args(
        scopes_arg(scopes),
        min_ttl,
        force_refresh.unwrap_or(false),
        rejected.map(|id| id as u64),
    )
    .map_err(to_napi)
}
