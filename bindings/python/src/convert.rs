//! Python values → core arguments.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};
use tokenbroker::ScopesArg;

/// A config dict (same shape as the TOML file) → JSON for `Config::from_value`.
///
/// Error messages name the key path and the offending type, never the value (it may be a
/// secret).
pub(crate) fn config_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    json_value(obj, "config")
}

/// Any JSON-shaped Python value; `name` starts the key path in error messages.
pub(crate) fn json_value(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Value> {
    let mut path = String::from(name);
    to_json(obj, &mut path)
}

fn to_json(obj: &Bound<'_, PyAny>, path: &mut String) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(PyValueError::new_err(format!(
            "{path}: integer out of range"
        )));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f: f64 = obj.extract()?;
        return Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{path}: must be a finite number")));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in dict.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err(format!("{path}: keys must be strings")))?
                .to_cow()?
                .into_owned();
            let len = path.len();
            path.push('.');
            path.push_str(&key);
            let value = to_json(&v, path)?;
            path.truncate(len);
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            items.push(to_json(&item?, path)?);
            path.truncate(len);
        }
        return Ok(Value::Array(items));
    }
    if obj.hasattr("__fspath__")? {
        let fspath = obj.py().import("os")?.getattr("fspath")?.call1((obj,))?;
        if let Ok(s) = fspath.cast::<PyString>() {
            return Ok(Value::String(s.to_cow()?.into_owned()));
        }
    }
    Err(PyTypeError::new_err(format!(
        "{path}: unsupported type {} (use str, int, float, bool, list, dict or a path)",
        obj.get_type().name()?
    )))
}

/// `scopes=`: one string of space-separated scopes, or a sequence of strings; the core
/// parses and checks them.
pub(crate) fn scopes(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<ScopesArg>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(ScopesArg::Text(s.to_cow()?.into_owned())));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        let s = item
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err("scopes must be strings"))?;
        out.push(s.to_cow()?.into_owned());
    }
    Ok(Some(ScopesArg::List(out)))
}

/// `scopes=` of a call that takes them alone (`begin_login`), parsed and checked by the core.
pub(crate) fn scope_list(
    py: Python<'_>,
    obj: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Vec<String>>> {
    scopes(obj)?
        .map(|s| s.parse("option 'scopes'"))
        .transpose()
        .map_err(|e| crate::errors::to_pyerr(py, &e))
}

/// Seconds as a number or a `datetime.timedelta` (`min_ttl=`, `timeout=`); `None` when
/// absent. The core checks the value.
pub(crate) fn seconds(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<f64>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(None);
    };
    if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() {
        obj.extract().map(Some)
    } else if obj.hasattr("total_seconds")? {
        obj.call_method0("total_seconds")?.extract().map(Some)
    } else {
        Err(PyTypeError::new_err(format!(
            "{name} must be seconds or a timedelta"
        )))
    }
}
