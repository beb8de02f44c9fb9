//! The warm path: one plain JS function per profile that asks the core for the profile's
//! cached token and answers `true` while it is the token that function handed out last.
//!
//! A plain function made with `napi_create_function` carries its profile handle as its
//! callback data, so a call does no `this` unwrap, no method lookup on a class prototype,
//! no argument conversion and no allocation: one core lookup and `true`. The core decides
//! on every call whether a token is valid (expiry, `minTtl`, invalidation checks); this
//! only spares converting the same token again.

use std::cell::Cell;
use std::ffi::c_void;
use std::ptr;
use std::time::Duration;

use napi::bindgen_prelude::ToNapiValue;
use napi::{check_status, sys};
use tokenbroker::ProfileHandle;

use crate::token::TokenData;

/// What a warm-path function reads on each call.
struct Warm {
    handle: ProfileHandle,
    /// Id of the token this function converted last (0: none; core ids start at 1).
    sent: Cell<u64>,
}

/// A warm-path function for a profile handle, created when handed to JavaScript.
pub struct WarmFn(pub ProfileHandle);

impl ToNapiValue for WarmFn {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        const NAME: &str = "cachedToken";
        let data = Box::into_raw(Box::new(Warm {
            handle: val.0,
            sent: Cell::new(0),
        }));
        let mut function = ptr::null_mut();
        // SAFETY: `env` is the live environment of this conversion. `data` stays valid until
        // the finalizer below frees it, which napi runs once, after the function is collected
        // (or at environment teardown); the function is only called on this env's thread.
        unsafe {
            let created = check_status!(sys::napi_create_function(
                env,
                NAME.as_ptr().cast(),
                NAME.len() as isize,
                Some(call),
                data.cast(),
                &mut function,
            ))
            .and_then(|()| {
                check_status!(sys::napi_add_finalizer(
                    env,
                    function,
                    data.cast(),
                    Some(finalize),
                    ptr::null_mut(),
                    ptr::null_mut(),
                ))
            });
            if let Err(e) = created {
                drop(Box::from_raw(data));
                return Err(e);
            }
        }
        Ok(function)
    }
}

/// The function's body: `true`, the token's array (when it is not the one sent last), or null.
unsafe extern "C" fn call(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut data = ptr::null_mut::<c_void>();
    let mut argc = 0;
    // SAFETY: napi calls this with a live env and callback info; `data` is the `Warm` set
    // in `to_napi_value`, alive as long as the function is (see there).
    unsafe {
        let read = sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            ptr::null_mut(),
            ptr::null_mut(),
            &mut data,
        );
        if read != sys::Status::napi_ok || data.is_null() {
            return throw(env, napi::Error::from_reason("napi_get_cb_info failed"));
        }
        let warm = &*data.cast::<Warm>();
        let mut result = ptr::null_mut();
        let answered = match warm.handle.cached_token(Duration::ZERO) {
            None => check_status!(sys::napi_get_null(env, &mut result)).map(|()| result),
            Some(token) if token.id() == warm.sent.get() => {
                check_status!(sys::napi_get_boolean(env, true, &mut result)).map(|()| result)
            }
            Some(token) => {
                let id = token.id();
                TokenData::to_napi_value(env, TokenData(token)).inspect(|_| warm.sent.set(id))
            }
        };
        answered.unwrap_or_else(|e| throw(env, e))
    }
}

unsafe fn throw(env: sys::napi_env, err: napi::Error) -> sys::napi_value {
    // SAFETY: `env` is live (we are inside a callback of it).
    unsafe { napi::bindgen_prelude::JsError::from(err).throw_into(env) };
    ptr::null_mut()
}

unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the box leaked in `to_napi_value`; napi calls this finalizer once.
    drop(unsafe { Box::from_raw(data.cast::<Warm>()) });
}
