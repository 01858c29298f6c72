//! How figures are written in RESULTS.md: thousands separators, fixed
//! decimals, latencies in the unit that suits them, and "—" for a figure
//! that is missing. The rules are those of the Python writer this replaced
//! (its `f"{v:,.2f}"`, `:g` and `str()`), so a rewritten RESULTS.md reads
//! the same; Rust's fixed-precision formatting rounds exactly as Python's
//! does (half to even on the exact binary value), so only separators,
//! `:g` and `repr` need writing out.

use serde_json::Value;

/// The cell of a figure that is not there.
pub const MISSING: &str = "—";

/// Inserts a comma every three digits of the integer part of a number
/// already written out (`-1234567.50` → `-1,234,567.50`).
fn group(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let split = rest.find(['.', 'e']).unwrap_or(rest.len());
    let (int, tail) = rest.split_at(split);
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}{tail}")
}

/// Python's names for what is not a finite number.
fn not_finite(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("nan".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "inf" } else { "-inf" }.into())
    } else {
        None
    }
}

/// `v` with `digits` decimals and thousands separators (`{v:,.2f}`).
pub fn fixed(v: f64, digits: usize) -> String {
    not_finite(v).unwrap_or_else(|| group(&format!("{v:.digits$}")))
}

/// A figure with `digits` decimals, or "—".
pub fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| MISSING.into(), |v| fixed(v, digits))
}

/// A latency in microseconds, in s, ms or µs.
pub fn us(v: Option<u64>) -> String {
    match v {
        None => MISSING.into(),
        Some(v) if v >= 1_000_000 => format!("{} s", fixed(v as f64 / 1e6, 2)),
        Some(v) if v >= 1000 => format!("{} ms", fixed(v as f64 / 1000.0, 2)),
        Some(v) => format!("{} µs", fixed(v as f64, 0)),
    }
}

/// Bytes in MiB with one decimal.
pub fn mib(v: Option<u64>) -> String {
    v.map_or_else(
        || MISSING.into(),
        |v| format!("{} MiB", fixed(v as f64 / 1_048_576.0, 1)),
    )
}

/// Bytes with no decimals (`6,828 B`).
pub fn bytes(v: Option<f64>) -> String {
    v.map_or_else(|| MISSING.into(), |v| format!("{} B", fixed(v, 0)))
}

/// `a ÷ b` as `0.46×`, or "—" when either is missing or `b` is zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}×", a / b),
        _ => MISSING.into(),
    }
}

/// Decimal digits and exponent of `v` in scientific notation with
/// `precision` decimals, correctly rounded (`{v:.precision$e}`).
fn scientific(v: f64, precision: Option<usize>) -> (String, i32) {
    let text = match precision {
        Some(p) => format!("{:.p$e}", v.abs()),
        None => format!("{:e}", v.abs()),
    };
    let (mantissa, exponent) = text.split_once('e').expect("{:e} has an exponent");
    (
        mantissa.replace('.', ""),
        exponent.parse().expect("an integer exponent"),
    )
}

/// Python's exponent suffix: a sign and at least two digits (`e+06`).
fn exponent_suffix(exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("e{sign}{:02}", exponent.abs())
}

/// `digits` (the first is before the point) with the point moved to
/// `exponent`, written out without an exponent.
fn positional(digits: &str, exponent: i32) -> String {
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("0.{zeros}{digits}");
    }
    let point = exponent as usize + 1;
    if digits.len() <= point {
        format!("{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{}.{}", &digits[..point], &digits[point..])
    }
}

fn sign(v: f64) -> &'static str {
    if v.is_sign_negative() { "-" } else { "" }
}

/// `{v:g}`: six significant digits, trailing zeros dropped, an exponent
/// below 1e-4 and from 1e6 on.
pub fn general(v: f64) -> String {
    if let Some(text) = not_finite(v) {
        return text;
    }
    if v == 0.0 {
        return format!("{}0", sign(v));
    }
    let (digits, exponent) = scientific(v, Some(5));
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    if (-4..6).contains(&exponent) {
        format!("{}{}", sign(v), positional(digits, exponent))
    } else {
        let mantissa = match digits.split_at(1) {
            (first, "") => first.to_owned(),
            (first, rest) => format!("{first}.{rest}"),
        };
        format!("{}{mantissa}{}", sign(v), exponent_suffix(exponent))
    }
}

/// Python's `repr` of a float: the shortest digits that read back the same,
/// with `.0` on whole numbers and an exponent below 1e-4 and from 1e16 on.
pub fn float_repr(v: f64) -> String {
    if let Some(text) = not_finite(v) {
        return text;
    }
    if v == 0.0 {
        return format!("{}0.0", sign(v));
    }
    let (digits, exponent) = scientific(v, None);
    if (-4..16).contains(&exponent) {
        let text = positional(&digits, exponent);
        let text = if text.contains('.') {
            text
        } else {
            format!("{text}.0")
        };
        format!("{}{text}", sign(v))
    } else {
        let mantissa = match digits.split_at(1) {
            (first, "") => first.to_owned(),
            (first, rest) => format!("{first}.{rest}"),
        };
        format!("{}{mantissa}{}", sign(v), exponent_suffix(exponent))
    }
}

/// A JSON value as Python's `str()` writes what `json.load` made of it.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) if n.is_f64() => float_repr(n.as_f64().unwrap_or(f64::NAN)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON number with thousands separators (`{v:,}`): whole numbers
/// grouped, floats as their `repr`, grouped.
pub fn py_grouped(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => group(&float_repr(n.as_f64().unwrap_or(f64::NAN))),
        Value::Number(n) => group(&n.to_string()),
        other => py_str(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The expected strings are what Python 3 prints for the same values.

    #[test]
    fn fixed_decimals_round_like_python_and_group_thousands() {
        assert_eq!(fixed(1234567.891, 2), "1,234,567.89");
        assert_eq!(fixed(-1234.5, 0), "-1,234");
        assert_eq!(fixed(2.5, 0), "2");
        assert_eq!(fixed(2.675, 2), "2.67");
        assert_eq!(fixed(999.96, 1), "1,000.0");
        assert_eq!(fixed(100.0, 0), "100");
        assert_eq!(fixed(0.0, 1), "0.0");
        assert_eq!(fixed(f64::NAN, 1), "nan");
        assert_eq!(num(None, 1), "—");
        assert_eq!(num(Some(76528.4), 0), "76,528");
    }

    #[test]
    fn latencies_take_the_unit_that_suits_them() {
        assert_eq!(us(Some(566)), "566 µs");
        assert_eq!(us(Some(999)), "999 µs");
        assert_eq!(us(Some(1000)), "1.00 ms");
        assert_eq!(us(Some(2_290)), "2.29 ms");
        assert_eq!(us(Some(999_999)), "1,000.00 ms");
        assert_eq!(us(Some(1_500_000)), "1.50 s");
        assert_eq!(us(None), "—");
        assert_eq!(mib(Some(31_457_280)), "30.0 MiB");
        assert_eq!(bytes(Some(6827.6)), "6,828 B");
    }

    #[test]
    fn a_ratio_needs_both_figures_and_a_divisor() {
        assert_eq!(ratio(Some(1.0), Some(3.0)), "0.33×");
        assert_eq!(ratio(Some(12345.0), Some(1.0)), "12345.00×");
        assert_eq!(ratio(Some(1.0), Some(0.0)), "—");
        assert_eq!(ratio(None, Some(1.0)), "—");
    }

    #[test]
    fn general_format_matches_pythons_g() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (20.0, "20"),
            (0.5, "0.5"),
            (0.95, "0.95"),
            (2.0, "2"),
            (1234567.0, "1.23457e+06"),
            (999999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (123456789.0, "1.23457e+08"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (0.1 + 0.2, "0.3"),
            (12345.678, "12345.7"),
            (-2.5, "-2.5"),
        ];
        for (v, expected) in cases {
            assert_eq!(general(v), expected, "{v}");
        }
    }

    #[test]
    fn float_repr_matches_pythons() {
        let cases = [
            (0.0, "0.0"),
            (20.0, "20.0"),
            (0.95, "0.95"),
            (1234567.0, "1234567.0"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-12345.678, "-12345.678"),
        ];
        for (v, expected) in cases {
            assert_eq!(float_repr(v), expected, "{v}");
        }
    }

    #[test]
    fn json_values_print_as_python_prints_them() {
        assert_eq!(py_str(&json!(10)), "10");
        assert_eq!(py_str(&json!(2.0)), "2.0");
        assert_eq!(py_str(&json!("x")), "x");
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_grouped(&json!(19000)), "19,000");
        assert_eq!(py_grouped(&json!(1234567.0)), "1,234,567.0");
        assert_eq!(py_grouped(&json!(-1000)), "-1,000");
    }
}
