//! pyo3 binding (work in progress).
