//! `include/shmiface_ffi.h`: the C header reduced to declarations that an
//! FFI parsing C without a preprocessor accepts as they are — cffi's and
//! LuaJIT's `ffi.cdef`, and koffi's prototype strings.
//!
//! Made from the header line by line, with no list of functions: whatever
//! cbindgen declares appears here. Comments, `#include`s, the include
//! guard and the `#ifdef __cplusplus` blocks are dropped; each integer
//! `#define` becomes `enum { NAME = VALUE };` (the one constant form all
//! three parse), or, when the value does not fit a C enum (an `int`), a
//! comment giving its value, since none of them can declare it. Any other
//! preprocessor line stops the build: it would need a decision here,
//! which is better made than guessed.

/// Every constant at most this wide becomes an enum: C11 enum constants are `int`.
const ENUM_RANGE: std::ops::RangeInclusive<i128> = (i32::MIN as i128)..=(i32::MAX as i128);

const PREAMBLE: &str = "\
/* shmiface C ABI: the declarations of shmiface.h with no preprocessor line,
 * for FFIs that parse C declarations (cffi, LuaJIT, koffi). Generated from
 * shmiface.h by build.rs: do not edit. Constants are enums. */
";

/// Removes `/* ... */` and `// ...` comments, keeping line breaks.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(body) = rest.strip_prefix("/*") {
            let end = body.find("*/").map_or(body.len(), |e| e + 2);
            out.extend(body[..end].chars().filter(|&c| c == '\n'));
            rest = &body[end..];
        } else if rest.starts_with("//") {
            rest = &rest[rest.find('\n').unwrap_or(rest.len())..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The value of a constant as cbindgen writes one: an integer literal
/// (with suffixes, parentheses, a sign), a `<stdint.h>` limit, or a shift.
fn integer(text: &str) -> Option<i128> {
    let t = text.trim();
    if let Some(inner) = t.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        return integer(inner);
    }
    if let Some((a, b)) = t.split_once("<<") {
        return integer(a)?.checked_shl(u32::try_from(integer(b)?).ok()?);
    }
    if let Some(n) = t.strip_prefix('-') {
        return integer(n).map(|v| -v);
    }
    let limit = match t {
        "INT8_MAX" => Some(i8::MAX as i128),
        "INT16_MAX" => Some(i16::MAX as i128),
        "INT32_MAX" => Some(i32::MAX as i128),
        "INT64_MAX" => Some(i64::MAX as i128),
        "INT8_MIN" => Some(i8::MIN as i128),
        "INT16_MIN" => Some(i16::MIN as i128),
        "INT32_MIN" => Some(i32::MIN as i128),
        "INT64_MIN" => Some(i64::MIN as i128),
        "UINT8_MAX" => Some(u8::MAX as i128),
        "UINT16_MAX" => Some(u16::MAX as i128),
        "UINT32_MAX" => Some(u32::MAX as i128),
        "UINT64_MAX" | "SIZE_MAX" => Some(u64::MAX as i128),
        _ => None,
    };
    if limit.is_some() {
        return limit;
    }
    let digits = t.trim_end_matches(['u', 'U', 'l', 'L']);
    match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok(),
        None if digits.len() > 1 && digits.starts_with('0') => i128::from_str_radix(digits, 8).ok(),
        None => digits.parse().ok(),
    }
}

/// One `#define NAME VALUE` as a declaration (or a comment).
fn constant(directive: &str) -> Result<String, String> {
    let body = directive.trim_start_matches("define").trim();
    let (name, value) = body
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("#{directive}: a macro with no value"))?;
    if name.contains('(') {
        return Err(format!("#{directive}: a function-like macro"));
    }
    let n = integer(value).ok_or_else(|| format!("#{directive}: not an integer constant"))?;
    Ok(if ENUM_RANGE.contains(&n) {
        format!("enum {{ {name} = {n} }};")
    } else {
        format!(
            "/* {name} = {n} ({}): wider than a C enum, so declare it in your FFI */",
            value.trim()
        )
    })
}

/// The declarations file for `header` (the text of shmiface.h), or why a
/// line of it cannot be made into a declaration.
pub fn ffi_declarations(header: &str) -> Result<String, String> {
    let mut out = vec![PREAMBLE.to_owned()];
    // Open conditionals: does each one exist only for C++ (or as the guard)?
    let mut skipping: Vec<bool> = Vec::new();
    let mut guard: Option<String> = None;
    // Braces open in the declarations kept: a blank line follows each
    // top-level declaration, and none is kept inside one.
    let mut depth = 0usize;
    for line in strip_comments(header).lines() {
        let stripped = line.trim();
        let Some(directive) = stripped.strip_prefix('#').map(str::trim) else {
            if !skipping.iter().any(|&s| s) && !stripped.is_empty() {
                out.push(line.trim_end().to_owned());
                depth += stripped.matches('{').count();
                depth = depth.saturating_sub(stripped.matches('}').count());
                if depth == 0 && stripped.ends_with(';') {
                    out.push(String::new());
                }
            }
            continue;
        };
        let keyword = directive.split_whitespace().next().unwrap_or("");
        let argument = directive[keyword.len()..].trim();
        match keyword {
            // The include guard: the file's first conditional.
            "ifndef" if guard.is_none() && skipping.is_empty() => {
                guard = Some(argument.to_owned());
                skipping.push(false);
            }
            "define" if guard.as_deref() == Some(argument) => {}
            "ifdef" | "if" | "ifndef" if argument.contains("__cplusplus") => {
                skipping.push(keyword != "ifndef" && !argument.starts_with('!'));
            }
            "else" if !skipping.is_empty() => {
                let last = skipping.last_mut().unwrap();
                *last = !*last;
            }
            "endif" if !skipping.is_empty() => {
                skipping.pop();
            }
            "include" | "pragma" => {}
            "define" if !skipping.iter().any(|&s| s) => {
                out.push(constant(directive)?);
                out.push(String::new());
            }
            _ if skipping.iter().any(|&s| s) => {}
            _ => return Err(format!("#{directive}: no rule for this line")),
        }
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like cbindgen's output, with constants of every form and a
    /// function the library does not have yet.
    const HEADER: &str = r#"/* banner */
#ifndef SHMIFACE_H
#define SHMIFACE_H

#include <stdint.h>

/**
 * Doc.
 */
#define SHMIFACE_ABI_VERSION 1
#define SHMIFACE_MAX_CAPACITY 1073741824
#define SHMIFACE_LATEST UINT64_MAX
#define SHMIFACE_FLAG (1 << 3)
#define SHMIFACE_NEG -2

typedef struct shmiface_segment shmiface_segment; // trailing
typedef int32_t shmiface_status;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

shmiface_status shmiface_next(const shmiface_segment *seg,
                              uint64_t *version);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SHMIFACE_H */
"#;

    #[test]
    fn declarations_only() {
        let out = ffi_declarations(HEADER).unwrap();
        assert!(out.starts_with(PREAMBLE), "{out}");
        let body = &out[PREAMBLE.len()..];
        assert!(!body.contains('#'), "{out}");
        assert!(!body.contains("/**") && !body.contains("//"), "{out}");
        assert!(!body.contains("extern"), "{out}");
        for want in [
            "enum { SHMIFACE_ABI_VERSION = 1 };",
            "enum { SHMIFACE_MAX_CAPACITY = 1073741824 };",
            "enum { SHMIFACE_FLAG = 8 };",
            "enum { SHMIFACE_NEG = -2 };",
            "typedef struct shmiface_segment shmiface_segment;",
            "typedef int32_t shmiface_status;",
            "shmiface_status shmiface_next(const shmiface_segment *seg,\n                              uint64_t *version);",
        ] {
            assert!(out.contains(want), "{want:?} in {out}");
        }
    }

    #[test]
    fn a_constant_too_wide_for_an_enum_is_a_comment_with_its_value() {
        let out = ffi_declarations(HEADER).unwrap();
        assert!(out.contains(
            "/* SHMIFACE_LATEST = 18446744073709551615 (UINT64_MAX): wider than a C enum"
        ));
        assert!(!out.contains("enum { SHMIFACE_LATEST"), "{out}");
    }

    #[test]
    fn an_unknown_directive_or_macro_is_refused() {
        let with = |line: &str| HEADER.replace("#include <stdint.h>", line);
        assert!(ffi_declarations(&with("#define SHMIFACE_F(x) (x)")).is_err());
        assert!(ffi_declarations(&with("#define SHMIFACE_S \"text\"")).is_err());
        assert!(ffi_declarations(&with("#if defined(SHMIFACE_WIDE)")).is_err());
        assert!(ffi_declarations(&with("#error no")).is_err());
    }

    #[test]
    fn integers_as_cbindgen_writes_them() {
        assert_eq!(integer("0x10"), Some(16));
        assert_eq!(integer("0644"), Some(0o644));
        assert_eq!(integer("0"), Some(0));
        assert_eq!(integer("42ULL"), Some(42));
        assert_eq!(integer("(-1)"), Some(-1));
        assert_eq!(integer("INT64_MIN"), Some(i64::MIN as i128));
        assert_eq!(integer("sizeof(int)"), None);
    }
}
