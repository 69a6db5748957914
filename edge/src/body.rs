//! Request bodies of the write endpoints: the size bound and JSON read with the path of the field at
//! fault, so every refusal names what to fix (`lines[1].quantity`, `events[0].at`, `Content-Type`).

use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// Bodies up to this size are read to their end even when over an endpoint's limit, so the client
/// gets the 413 rather than a connection closed under its upload; larger declared ones are refused
/// before anything is read.
pub const DRAIN_LIMIT: usize = 1024 * 1024;

/// A declared body length (`Content-Length`) over `limit` and [`DRAIN_LIMIT`] is refused before
/// anything is read; any other body is read (and, past `limit`, discarded) then refused.
pub fn check_length(content_length: Option<&str>, limit: usize) -> Result<(), Problem> {
    match content_length.map(|l| l.trim().parse::<usize>()) {
        None => Ok(()),
        Some(Ok(n)) if n <= limit.max(DRAIN_LIMIT) => Ok(()),
        Some(_) => Err(Problem::TooLarge { limit }),
    }
}

/// A JSON body sent as one of `media` types (`why` says what is expected when it is not).
pub fn json<T: DeserializeOwned>(
    content_type: Option<&str>,
    body: &[u8],
    media: &[&str],
    why: &str,
) -> Result<T, Problem> {
    let given = content_type.and_then(|t| t.split(';').next()).map(|t| t.trim().to_ascii_lowercase());
    if !given.is_some_and(|g| media.contains(&g.as_str())) {
        return Err(Problem::BadBody { field: "Content-Type".to_owned(), reason: why.to_owned() });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Problem::BadBody {
            field: if path == "." { "body".to_owned() } else { path },
            reason: e.inner().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_lengths_are_bounded() {
        assert_eq!(check_length(Some("16"), 16), Ok(()));
        assert_eq!(check_length(None, 16), Ok(()), "read up to the limit");
        assert_eq!(check_length(Some("17"), 16), Ok(()), "read, then refused");
        let over = (DRAIN_LIMIT + 1).to_string();
        assert_eq!(check_length(Some(&over), 16), Err(Problem::TooLarge { limit: 16 }));
        assert_eq!(check_length(Some("-1"), 16), Err(Problem::TooLarge { limit: 16 }));
    }

    #[test]
    fn media_types_are_checked_without_parameters_or_case() {
        let read =
            |t: Option<&str>| json::<serde_json::Value>(t, b"{}", &["application/json"], "json please");
        assert!(read(Some("Application/JSON; charset=utf-8")).is_ok());
        for bad in [None, Some("text/plain"), Some("application/jsonx")] {
            assert!(
                matches!(read(bad), Err(Problem::BadBody { field, .. }) if field == "Content-Type"),
                "{bad:?}"
            );
        }
    }
}
