//! Every API error, and its RFC 9457 problem+json form. Handlers return [`Problem`]; nothing else
//! builds an error response.

use ranking::wire::{FeedResponse, Problem as ProblemJson};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// A query or path parameter is malformed or out of bounds.
    #[error("{reason}")]
    BadParam { param: &'static str, reason: String },
    /// No such product.
    #[error("no product with id {0:?}")]
    UnknownProduct(String),
    /// No such API route.
    #[error("no API route {0}")]
    NoRoute(String),
    /// The route exists but not for this method.
    #[error("method {method} is not allowed here; use {allow}")]
    Method { method: String, allow: &'static str },
    /// A request body (or the header that describes it) is malformed; `field` is its JSON path.
    #[error("{field}: {reason}")]
    BadBody { field: String, reason: String },
    /// A request body over the endpoint's limit.
    #[error("the request body must be at most {limit} bytes")]
    TooLarge { limit: usize },
    /// A webhook whose `Stripe-Signature` does not prove it came from Stripe, now.
    #[error("{0}")]
    BadSignature(String),
    /// The shop has not connected a payment provider (no `STRIPE_SECRET_KEY`).
    #[error("{0}")]
    NotConfigured(&'static str),
    /// The payment provider refused or could not be reached.
    #[error("{0}")]
    Provider(String),
    /// The order store (D1) failed; the webhook is retried by Stripe.
    #[error("{0}")]
    Storage(String),
    /// The index is missing or cannot be read (never the shopper's fault).
    #[error("{0}")]
    Unavailable(String),
    /// The index cannot be read, but a non-personal feed can still be served with the error.
    #[error("{0}")]
    Degraded(String, Box<FeedResponse>),
}

impl Problem {
    pub fn status(&self) -> u16 {
        match self {
            Problem::BadParam { .. } | Problem::BadBody { .. } | Problem::BadSignature(_) => 400,
            Problem::TooLarge { .. } => 413,
            Problem::NotConfigured(_) => 501,
            Problem::Provider(_) => 502,
            Problem::Storage(_) => 503,
            Problem::UnknownProduct(_) | Problem::NoRoute(_) => 404,
            Problem::Method { .. } => 405,
            Problem::Unavailable(_) | Problem::Degraded(..) => 503,
        }
    }

    pub fn problem(&self) -> ProblemJson {
        let (slug, title) = match self {
            Problem::BadParam { .. } => ("bad-parameter", "Invalid request parameter"),
            Problem::BadBody { .. } => ("bad-body", "Invalid request body"),
            Problem::TooLarge { .. } => ("body-too-large", "Request body too large"),
            Problem::BadSignature(_) => ("bad-signature", "Webhook signature refused"),
            Problem::NotConfigured(_) => ("checkout-not-configured", "Checkout is not set up"),
            Problem::Provider(_) => ("payment-provider", "The payment provider did not accept the checkout"),
            Problem::Storage(_) => ("storage-unavailable", "Order store unavailable"),
            Problem::UnknownProduct(_) => ("unknown-product", "Product not found"),
            Problem::NoRoute(_) => ("not-found", "Not found"),
            Problem::Method { .. } => ("method-not-allowed", "Method not allowed"),
            Problem::Unavailable(_) | Problem::Degraded(..) => {
                ("index-unavailable", "Catalog index unavailable")
            }
        };
        ProblemJson {
            kind: format!("/docs/problems#{slug}"),
            title: title.to_owned(),
            status: self.status(),
            detail: self.to_string(),
            param: match self {
                Problem::BadParam { param, .. } => Some((*param).to_owned()),
                Problem::BadBody { field, .. } => Some(field.clone()),
                Problem::TooLarge { .. } => Some("body".to_owned()),
                Problem::BadSignature(_) => Some("Stripe-Signature".to_owned()),
                Problem::UnknownProduct(_) => Some("id".to_owned()),
                _ => None,
            },
            fallback: match self {
                Problem::Degraded(_, feed) => Some((**feed).clone()),
                _ => None,
            },
        }
    }

    /// The `Allow` header value for 405 answers.
    pub fn allow(&self) -> Option<&'static str> {
        match self {
            Problem::Method { allow, .. } => Some(allow),
            _ => None,
        }
    }
}

/// Content type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_names_the_parameter() {
        let e = Problem::BadParam { param: "limit", reason: "limit must be 1..=100, got 0".into() };
        let p = e.problem();
        assert_eq!(p.status, 400);
        assert_eq!(p.param.as_deref(), Some("limit"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["type"], "/docs/problems#bad-parameter");
        assert_eq!(json["detail"], "limit must be 1..=100, got 0");
    }
}
