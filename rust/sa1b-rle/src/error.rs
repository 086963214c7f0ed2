//! The one error type of the core crate.

use std::fmt;

/// Coordinates must satisfy `|v| < MAX_COORDINATE` (so that `5 * v` and every difference
/// of two scaled coordinates stay within a C `int`, as cocoapi's arithmetic needs).
pub const MAX_COORDINATE: f64 = (1u64 << 30) as f64 / 5.0;

/// Everything that can be wrong with an RLE, a polygon, a box or a mask handed to the core.
///
/// Every variant carries where the problem is (byte offset, run index, coordinate index)
/// and what was expected, so that a message can point a user at the bad byte. Errors on
/// one item of a batch are wrapped in [`Error::Item`] with the item's index.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A byte of a compressed counts string outside `'0'..='o'` (48..=111).
    InvalidCountsByte {
        /// Byte offset in the counts string.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
    /// The counts string ends inside a value (its last byte has the continuation bit 0x20).
    TruncatedCounts {
        /// Byte offset where the unfinished value starts.
        offset: usize,
    },
    /// A value of the counts string uses more than 7 groups of 5 bits.
    CountsValueTooLong {
        /// Byte offset where the value starts.
        offset: usize,
    },
    /// A decoded run length is negative.
    NegativeRun {
        /// Index of the run in the counts.
        run: usize,
        /// Byte offset where its value starts in the counts string.
        offset: usize,
        /// The decoded (negative) value.
        value: i64,
    },
    /// A decoded or given run length does not fit in an unsigned 32-bit integer.
    RunOverflow {
        /// Index of the run in the counts.
        run: usize,
        /// Byte offset where its value starts in the counts string (0 for uncompressed counts).
        offset: usize,
        /// The decoded value.
        value: i64,
    },
    /// The run lengths do not add up to height * width.
    CountsSumMismatch {
        /// height * width.
        expected: u64,
        /// The sum of the run lengths.
        actual: u64,
    },
    /// No run lengths at all for a mask with pixels.
    EmptyCounts {
        /// height * width.
        pixels: u64,
    },
    /// height * width does not fit in an unsigned 32-bit integer (COCO counts are u32).
    SizeTooLarge {
        /// Declared height.
        height: u64,
        /// Declared width.
        width: u64,
    },
    /// Masks of different sizes in one operation that needs one size.
    SizeMismatch {
        /// (height, width) of the first mask.
        expected: (u64, u64),
        /// (height, width) of the mask that differs.
        actual: (u64, u64),
    },
    /// A polygon with an odd number of coordinates.
    PolygonOddLength {
        /// Number of coordinates given.
        len: usize,
    },
    /// A polygon with fewer than 3 points.
    PolygonTooFewPoints {
        /// Number of points given.
        points: usize,
    },
    /// A polygon or box coordinate that is NaN or infinite.
    NonFiniteCoordinate {
        /// Index of the coordinate in the flat list.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A polygon or box coordinate too large to rasterise (|5 * v| must stay below 2**30).
    CoordinateOutOfRange {
        /// Index of the coordinate in the flat list.
        index: usize,
        /// The value.
        value: f64,
    },
    /// A mask buffer whose length does not match its declared shape.
    BufferSize {
        /// The length the shape implies.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// An index past the end of a batch.
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// Number of masks in the batch.
        len: usize,
    },
    /// Offsets of "offsets + data" counts buffers that do not delimit strings inside
    /// the data (decreasing, negative or past its end), or a byte form of them that is
    /// not whole little-endian int64s.
    InvalidOffsets {
        /// The string whose offsets are wrong (`usize::MAX`: the byte form).
        index: usize,
        /// Its start offset.
        start: i64,
        /// Its end offset.
        end: i64,
        /// Bytes of data (or of the byte form).
        len: usize,
    },
    /// A malformed Kaggle run-length string (the `kaggle` module).
    Kaggle {
        /// What is wrong, naming the token or run.
        message: String,
    },
    /// A per-item argument (scores per mask, `iscrowd` per ground-truth mask) whose
    /// length is not the number of items.
    ArgumentLength {
        /// The argument.
        what: &'static str,
        /// What it has one entry per, e.g. "mask".
        per: &'static str,
        /// Number of items.
        expected: usize,
        /// Its length.
        actual: usize,
    },
    /// Inputs that do not fit together (columns of different lengths, offsets that do
    /// not delimit them, parameters of other shapes than the evaluation's).
    Inconsistent {
        /// What does not fit, with the numbers.
        message: String,
    },
    /// An argument outside what the operation is defined for (the binding checks its
    /// own arguments first, naming them).
    InvalidArgument {
        /// What is wrong with it.
        message: String,
    },
    /// A NaN score (scores must be ordered).
    NanScore {
        /// Its index.
        index: usize,
    },
    /// A long operation stopped because its caller asked (the binding: a signal such as
    /// Ctrl-C arrived).
    Interrupted,
    /// An image that cannot be decoded or encoded (unsupported format, truncated or
    /// corrupt data, larger than the decoding limits).
    Image {
        /// What the image codec reported.
        message: String,
    },
    /// An image whose size is not the masks' size.
    ImageSize {
        /// The masks' `(height, width)`.
        expected: (u64, u64),
        /// The image's `(height, width)`.
        actual: (u64, u64),
    },
    /// An allocation sized by the input could not be made (a Python `MemoryError`).
    OutOfMemory {
        /// What the memory was for.
        what: &'static str,
        /// The bytes asked for (`u64::MAX` when the size overflows).
        bytes: u64,
    },
    /// A documented limit was exceeded (checked before any work or allocation).
    LimitExceeded {
        /// What was measured, e.g. "image pixels".
        what: &'static str,
        /// The value found.
        value: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The problem is in the annotation of id `id` of a dataset (`what`: "ground truth"
    /// or "detection").
    Annotation {
        /// What the annotation is.
        what: &'static str,
        /// Its `id` (COCO ids are integers; shown as one when integral).
        id: f64,
        /// What is wrong with it.
        source: Box<Error>,
    },
    /// A COCO dataset or results document that cannot be read as one (malformed JSON,
    /// a value of the wrong kind where the format needs one, a required field missing).
    Dataset {
        /// What is wrong and where (byte offset, annotation index).
        message: String,
    },
    /// The problem is in detection result `index` of a results list (whose id
    /// `loadRes` makes `index + 1`).
    ResultItem {
        /// Its position in the list.
        index: usize,
        /// What is wrong with it.
        source: Box<Error>,
    },
    /// The problem is in item `index` of a batch.
    Item {
        /// Index of the item in the batch (annotation index).
        index: usize,
        /// What is wrong with it.
        source: Box<Error>,
    },
}

impl Error {
    /// Wraps `self` as the error of batch item `index`.
    ///
    /// ```
    /// use sa1b_rle::Error;
    /// let e = Error::EmptyCounts { pixels: 9 }.at(4);
    /// assert_eq!(e.to_string(), "annotation 4: empty counts for a mask of 9 pixels");
    /// ```
    #[must_use]
    pub fn at(self, index: usize) -> Error {
        Error::Item {
            index,
            source: Box::new(self),
        }
    }

    /// The innermost error, past any [`Error::Item`] wrappers.
    #[must_use]
    pub fn root(&self) -> &Error {
        match self {
            Error::Item { source, .. }
            | Error::Annotation { source, .. }
            | Error::ResultItem { source, .. } => source.root(),
            e => e,
        }
    }
}

impl fmt::Display for Error {
    #[allow(clippy::too_many_lines)] // one arm per variant
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidCountsByte { offset, byte } => {
                if byte.is_ascii_graphic() {
                    write!(
                        f,
                        "invalid byte {:?} (0x{byte:02x}) at offset {offset} of counts: \
                         compressed counts use only the characters '0'..'o'",
                        char::from(*byte)
                    )
                } else {
                    write!(
                        f,
                        "invalid byte 0x{byte:02x} at offset {offset} of counts: \
                         compressed counts use only the characters '0'..'o'"
                    )
                }
            }
            Error::TruncatedCounts { offset } => write!(
                f,
                "truncated counts: the value starting at offset {offset} is not terminated"
            ),
            Error::CountsValueTooLong { offset } => write!(
                f,
                "the counts value starting at offset {offset} uses more than 7 characters"
            ),
            Error::NegativeRun { run, offset, value } => write!(
                f,
                "run {run} (counts offset {offset}) has negative length {value}"
            ),
            Error::RunOverflow { run, offset, value } => write!(
                f,
                "run {run} (counts offset {offset}) has length {value}, \
                 which does not fit in 32 bits"
            ),
            Error::CountsSumMismatch { expected, actual } => {
                let how = if actual < expected {
                    "short of"
                } else {
                    "past"
                };
                write!(
                    f,
                    "run lengths sum to {actual}, {how} height*width = {expected}"
                )
            }
            Error::EmptyCounts { pixels } => {
                write!(f, "empty counts for a mask of {pixels} pixels")
            }
            Error::SizeTooLarge { height, width } => write!(
                f,
                "size {height}x{width} has more than 2**32-1 pixels, \
                 which COCO RLE (32-bit counts) cannot represent"
            ),
            Error::SizeMismatch { expected, actual } => write!(
                f,
                "size [{}, {}] differs from [{}, {}]: all masks of one call must have one size",
                actual.0, actual.1, expected.0, expected.1
            ),
            Error::PolygonOddLength { len } => write!(
                f,
                "polygon has an odd number of coordinates ({len}); expected x0, y0, x1, y1, ..."
            ),
            Error::PolygonTooFewPoints { points } => {
                write!(f, "polygon has {points} point(s); at least 3 are needed")
            }
            Error::NonFiniteCoordinate { index, value } => {
                write!(f, "coordinate {index} is not finite ({value:?})")
            }
            Error::CoordinateOutOfRange { index, value } => write!(
                f,
                "coordinate {index} ({value:?}) is out of range: |v| must be below \
                 {MAX_COORDINATE}"
            ),
            Error::BufferSize { expected, actual } => write!(
                f,
                "mask buffer has {actual} bytes, its shape needs {expected}"
            ),
            Error::IndexOutOfRange { index, len } => {
                write!(
                    f,
                    "index {index} is out of range for a batch of {len} masks"
                )
            }
            Error::InvalidOffsets { index, len, .. } if *index == usize::MAX => write!(
                f,
                "offsets of {len} bytes are not whole little-endian int64 values"
            ),
            Error::InvalidOffsets {
                index,
                start,
                end,
                len,
            } => write!(
                f,
                "counts {index}: offsets {start}..{end} are not inside the {len} bytes of data"
            ),
            Error::Kaggle { message }
            | Error::Dataset { message }
            | Error::InvalidArgument { message } => f.write_str(message),
            Error::ArgumentLength {
                what,
                per,
                expected,
                actual,
            } => write!(
                f,
                "{what} has {actual} entries, expected one per {per} ({expected})"
            ),
            Error::Inconsistent { message } => write!(f, "inconsistent inputs: {message}"),
            Error::NanScore { index } => write!(f, "score {index} is NaN"),
            Error::Interrupted => write!(f, "interrupted"),
            Error::Image { message } => write!(f, "image: {message}"),
            Error::ImageSize { expected, actual } => write!(
                f,
                "the image is {}x{} (height x width), the masks {}x{}",
                actual.0, actual.1, expected.0, expected.1
            ),
            Error::OutOfMemory { what, bytes } => {
                if *bytes == u64::MAX {
                    write!(f, "cannot allocate {what}: its size overflows")
                } else {
                    write!(f, "cannot allocate {bytes} bytes for {what}")
                }
            }
            Error::LimitExceeded { what, value, limit } => {
                write!(f, "{what} {value} exceed the limit of {limit}")
            }
            Error::ResultItem { index, source } => {
                write!(f, "result {index} (id {}): {source}", index + 1)
            }
            Error::Item { index, source } => write!(f, "annotation {index}: {source}"),
            Error::Annotation { what, id, source } => {
                if id.fract() == 0.0 && id.abs() < 9.0e15 {
                    write!(f, "{what} id {id:.0}: {source}")
                } else {
                    write!(f, "{what} id {id}: {source}")
                }
            }
        }
    }
}

impl std::error::Error for Error {
    /// The wrapped error of [`Error::Item`], [`Error::Annotation`] and
    /// [`Error::ResultItem`].
    ///
    /// ```
    /// use std::error::Error as _;
    /// let e = sa1b_rle::Error::EmptyCounts { pixels: 9 }.at(4);
    /// assert_eq!(e.source().unwrap().to_string(), "empty counts for a mask of 9 pixels");
    /// ```
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Item { source, .. }
            | Error::Annotation { source, .. }
            | Error::ResultItem { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// The result type of the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
