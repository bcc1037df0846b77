//! The port a root is served on when none is given (SPEC 7): derived from the root's
//! directory name, so each project gets a stable port of its own.

/// `8100 + (|h| % 1000)` with `h = h*31 + code unit` over the lower-cased name (32-bit wrapping).
pub fn derived_port(dir_name: &str) -> u16 {
    let lower = dir_name.to_lowercase();
    let mut h: i32 = 0;
    for unit in lower.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    8100 + (h.unsigned_abs() % 1000) as u16
}

/// The ports tried in order: the name itself, then `name1` … `name19`.
pub fn candidate_ports(dir_name: &str) -> Vec<u16> {
    let mut ports = vec![derived_port(dir_name)];
    for i in 1..=19 {
        let p = derived_port(&format!("{dir_name}{i}"));
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_javascript_hash() {
        // "abc".hashCode() == 96354 → 8100 + 354
        assert_eq!(derived_port("abc"), 8454);
        assert_eq!(derived_port("ABC"), 8454);
        // "my-app": the same arithmetic in JavaScript gives 8500
        assert_eq!(derived_port("my-app"), 8500);
        assert_eq!(derived_port(""), 8100);
        // Wrapping: a long name must not panic.
        let _ = derived_port(&"x".repeat(1000));
    }

    #[test]
    fn twenty_candidates_at_most() {
        let c = candidate_ports("project");
        assert!(c.len() <= 20 && c.len() > 10);
        assert_eq!(c[0], derived_port("project"));
    }
}
