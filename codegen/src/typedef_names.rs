//! cbindgen's `style = "both"` gives every struct a tag and a typedef,
//! which the contract names (`typedef struct shmiface_options {...}
//! shmiface_options;`), but then spells every use `struct shmiface_options`.
//! `style = "type"` would spell uses by the typedef but drop the tags, and
//! code that writes `struct shmiface_info` would stop compiling. So we keep
//! "both" and rewrite the uses: some FFIs cannot parse `const struct X *`
//! in a prototype (koffi aborts the process on it).

/// The names declared by `typedef struct|union|enum NAME ...`, in order.
fn tagged_typedefs(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in header.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("typedef") {
            continue;
        }
        if !matches!(words.next(), Some("struct" | "union" | "enum")) {
            continue;
        }
        if let Some(tag) = words.next() {
            let tag = tag.trim_end_matches(';');
            if is_identifier(tag) && !names.iter().any(|n| n == tag) {
                names.push(tag.to_owned());
            }
        }
    }
    names
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `keyword NAME` → `NAME` in `line`, for every NAME in `names`, where the
/// keyword is a whole word and NAME a whole identifier.
fn drop_keyword(line: &str, names: &[String]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    'scan: while !rest.is_empty() {
        for keyword in ["struct ", "union ", "enum "] {
            let at_word_start = out
                .chars()
                .next_back()
                .is_none_or(|c| !(c == '_' || c.is_ascii_alphanumeric()));
            if at_word_start && rest.starts_with(keyword) {
                let after = &rest[keyword.len()..];
                let end = after
                    .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                    .unwrap_or(after.len());
                if names.iter().any(|n| n == &after[..end]) {
                    out.push_str(&after[..end]);
                    rest = &after[end..];
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The header with every use of a tagged typedef spelt by its typedef name.
/// The `typedef struct NAME ...` lines themselves keep their tag.
pub fn use_typedef_names(header: &str) -> String {
    let names = tagged_typedefs(header);
    let mut out = String::with_capacity(header.len());
    for line in header.split_inclusive('\n') {
        if line.trim_start().starts_with("typedef ") && tagged_typedefs(line).len() == 1 {
            out.push_str(line);
        } else {
            out.push_str(&drop_keyword(line, &names));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "\
typedef struct shmiface_segment shmiface_segment;
typedef struct shmiface_info {
    uint64_t capacity;
} shmiface_info;
typedef struct shmiface_info_ex {
    struct shmiface_info info;
} shmiface_info_ex;
shmiface_status shmiface_get_info(const struct shmiface_segment *seg,
                                  struct shmiface_info *out);
struct other *keep(struct shmiface_infos *x, mystruct shmiface_info *y);
";

    #[test]
    fn uses_are_renamed_and_definitions_keep_their_tags() {
        let out = use_typedef_names(HEADER);
        assert!(out.contains("typedef struct shmiface_segment shmiface_segment;"));
        assert!(out.contains("typedef struct shmiface_info {"));
        assert!(out.contains("typedef struct shmiface_info_ex {\n    shmiface_info info;"));
        assert!(out.contains("shmiface_get_info(const shmiface_segment *seg,"));
        assert!(out.contains("  shmiface_info *out);"));
        assert!(!out.contains("const struct"), "{out}");
    }

    #[test]
    fn unknown_tags_and_longer_names_are_left_alone() {
        let out = use_typedef_names(HEADER);
        assert!(
            out.contains(
                "struct other *keep(struct shmiface_infos *x, mystruct shmiface_info *y);"
            ),
            "{out}"
        );
    }
}
