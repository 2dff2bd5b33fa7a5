//! The signing crate's errors. Each module adds its own typed enum here so that a
//! caller matches on what went wrong, never on a message string.

use thiserror::Error;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentError {
    /// The region code is not one of sh, js, zj, ah.
    #[error("unknown region `{0}` (expected sh, js, zj or ah)")]
    UnknownRegion(String),
    /// A unified social credit code must have 18 characters.
    #[error("unified social credit code has {0} characters, expected 18")]
    UsccLength(usize),
    /// A character outside the GB 32100 alphabet.
    #[error(
        "unified social credit code: character {position} is not in 0-9, A-H, J-N, P-R, T, U, W-Y"
    )]
    UsccCharacter {
        /// 1-based position of the offending character.
        position: usize,
    },
    /// The check character does not match.
    #[error("unified social credit code: check character is `{got}`, expected `{expected}`")]
    UsccCheck {
        /// The check character the first 17 characters call for.
        expected: char,
        /// The character found.
        got: char,
    },
    /// A member id is `{region}:{uscc}[:{subsystem}]`.
    #[error("member id is not `{{region}}:{{uscc}}[:{{subsystem}}]`")]
    MemberSyntax,
    /// The subsystem part has a bad character or length.
    #[error("member subsystem must be 1-32 characters of a-z, 0-9 and -")]
    Subsystem,
    /// A certificate URI that is not `urn:yrdx:…`.
    #[error("URI does not start with urn:yrdx:")]
    NotAMemberUri,
    /// A resident identity number must have 18 characters.
    #[error("resident identity number has {0} characters, expected 18")]
    ResidentIdLength(usize),
    /// One of the first 17 characters is not a digit.
    #[error("resident identity number: character {position} is not a digit")]
    ResidentIdCharacter {
        /// 1-based position of the offending character.
        position: usize,
    },
    /// The check character does not match.
    #[error("resident identity number: check character should be `{expected}`")]
    ResidentIdCheck {
        /// The check character the first 17 digits call for.
        expected: char,
    },
    /// A licence identifier with the wrong shape.
    #[error("licence identifier: {0}")]
    LicenceSyntax(&'static str),
    /// The licence identifier's check character does not match.
    #[error("licence identifier: check character is `{got}`, expected `{expected}`")]
    LicenceCheck {
        /// The character ISO/IEC 7064 MOD 37,36 calls for.
        expected: char,
        /// The character found.
        got: char,
    },
}
