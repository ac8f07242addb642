//! Hardware token seed files: CSV and PSKC (RFC 6030). A file is parsed
//! whole before anything is stored; an error names the line or element.

pub mod csv;
pub mod pskc;

use ichido_domain::service::ImportedToken;

/// Why a seed file was refused, with where.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Pskc,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Format::Csv),
            "pskc" => Some(Format::Pskc),
            _ => None,
        }
    }
}

/// Parses a seed file; `psk` is the pre-shared key of an encrypted PSKC file.
pub fn parse(
    format: Format,
    content: &str,
    psk: Option<&[u8]>,
) -> Result<Vec<ImportedToken>, ImportError> {
    match format {
        Format::Csv => csv::parse(content),
        Format::Pskc => pskc::parse(content, psk),
    }
}
