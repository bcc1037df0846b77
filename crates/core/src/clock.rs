//! Wall-clock formatting for headers: server local time as `HH:MM:SS`.

use chrono::{DateTime, Local};

/// Now, as `HH:MM:SS` local time.
pub fn now_hms() -> String {
    Local::now().format("%H:%M:%S").to_string()
}

/// An ISO-8601 instant from the browser, as local `HH:MM:SS`; now when it does not parse.
pub fn iso_to_hms(iso: Option<&str>) -> String {
    iso.and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Local).format("%H:%M:%S").to_string())
        .unwrap_or_else(now_hms)
}
