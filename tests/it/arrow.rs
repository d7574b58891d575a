//! Arrow IPC input: the same data sets, fits and errors as from CSV.
//!
//! Arrow files are written here with the arrow crates, into the system's
//! temporary folder, except the small committed `tests/fixtures/xy.arrow`
//! (made from `xy.csv` by `examples/csv_to_arrow.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::ListBuilder;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int64Array,
    LargeStringArray, RecordBatch, StringArray, UInt64Array, UInt8Array,
};
use arrow_ipc::writer::{FileWriter, StreamWriter};
use arrow_schema::{Field, Schema};
use nll::data::{self, ColumnKind, ColumnRequest, DataSet, LoadOptions};

use crate::cli::run;
use crate::common::repo_path;

/// A file in the system's temporary folder, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn path(&self) -> &str {
        self.0.to_str().expect("temporary paths are UTF-8 here")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nll-arrow-{}-{name}", std::process::id()))
}

fn schema_of(columns: &[(&str, ArrayRef)]) -> Arc<Schema> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// Write `batches` (each a list of named columns, the same names in each)
/// as an Arrow IPC file, or a stream.
fn write_batches(name: &str, batches: &[Vec<(&str, ArrayRef)>], stream: bool) -> TempFile {
    let path = temp_path(name);
    let schema = schema_of(&batches[0]);
    let out = std::fs::File::create(&path).expect("the temporary folder is writable");
    let batches: Vec<RecordBatch> = batches
        .iter()
        .map(|columns| {
            let arrays = columns.iter().map(|(_, a)| a.clone()).collect();
            RecordBatch::try_new(schema.clone(), arrays).expect("columns of one length")
        })
        .collect();
    if stream {
        let mut writer = StreamWriter::try_new(out, &schema).unwrap();
        for batch in &batches {
            writer.write(batch).unwrap();
        }
        writer.finish().unwrap();
    } else {
        let mut writer = FileWriter::try_new(out, &schema).unwrap();
        for batch in &batches {
            writer.write(batch).unwrap();
        }
        writer.finish().unwrap();
    }
    TempFile(path)
}

fn write_arrow(name: &str, columns: Vec<(&str, ArrayRef)>) -> TempFile {
    write_batches(name, &[columns], false)
}

fn write_csv(name: &str, text: &str) -> TempFile {
    let path = temp_path(name);
    std::fs::write(&path, text).expect("the temporary folder is writable");
    TempFile(path)
}

fn f64s(values: &[Option<f64>]) -> ArrayRef {
    Arc::new(Float64Array::from(values.to_vec()))
}

fn texts(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn load(path: &str, requests: &[(&str, ColumnKind)], opts: &LoadOptions) -> DataSet {
    try_load(path, requests, opts).unwrap_or_else(|e| panic!("{path}:\n{e}"))
}

fn try_load(
    path: &str,
    requests: &[(&str, ColumnKind)],
    opts: &LoadOptions,
) -> Result<DataSet, data::DataError> {
    let requests: Vec<ColumnRequest> = requests
        .iter()
        .map(|&(name, kind)| ColumnRequest::new(name, kind))
        .collect();
    data::load_file(Path::new(path), &requests, opts)
}

/// The stdout of a successful `nll ARGS`.
fn stdout_ok(args: &[&str]) -> String {
    let text = run(args);
    assert!(text.starts_with("exit: 0"), "{text}");
    text.split("--- stderr").next().unwrap().to_string()
}

#[test]
fn a_fit_on_the_arrow_fixture_equals_the_fit_on_its_csv() {
    for model in ["linear.nll", "poisson_int.nll"] {
        let model = format!("tests/fixtures/{model}");
        let args = |data: &'static str| {
            ["fit", model.as_str(), "--data", data, "--format", "json"].map(str::to_string)
        };
        let on = |data| {
            let args = args(data);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            stdout_ok(&args)
        };
        let arrow = on("tests/fixtures/xy.arrow");
        assert_eq!(arrow, on("tests/fixtures/xy.csv"), "{model}");
        assert!(arrow.contains("\"estimate\""), "{arrow}");
    }
}

#[test]
fn factors_filters_and_several_batches_give_the_csv_data_set() {
    let csv = write_csv(
        "factors.csv",
        "g,y,n,size,flag\n\
         b,1.5,3,10,true\n\
         a,2.25,4,9,false\n\
         c,NA,5,2,true\n\
         a,3.0,6,10,true\n\
         B,-1e-3,7,9,false\n",
    );
    // One dictionary for both batches, as a file holds one per column.
    let levels: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c", "B"]));
    let dictionary = |values: &[&str]| -> ArrayRef {
        let keys: Vec<i32> = values
            .iter()
            .map(|v| ["a", "b", "c", "B"].iter().position(|l| l == v).unwrap() as i32)
            .collect();
        let keys = arrow_array::PrimitiveArray::<Int32Type>::from(keys);
        Arc::new(DictionaryArray::try_new(keys, levels.clone()).unwrap())
    };
    // Two batches; `g` is a dictionary, `size` numbers read as a factor.
    let batch = |g: &[&str], y: &[Option<f64>], n: &[i64], size: &[u8], flag: &[bool]| {
        vec![
            ("g", dictionary(g)),
            ("y", f64s(y)),
            ("n", Arc::new(Int64Array::from(n.to_vec())) as ArrayRef),
            (
                "size",
                Arc::new(UInt8Array::from(size.to_vec())) as ArrayRef,
            ),
            (
                "flag",
                Arc::new(BooleanArray::from(flag.to_vec())) as ArrayRef,
            ),
        ]
    };
    let batches = [
        batch(
            &["b", "a", "c"],
            &[Some(1.5), Some(2.25), None],
            &[3, 4, 5],
            &[10, 9, 2],
            &[true, false, true],
        ),
        batch(
            &["a", "B"],
            &[Some(3.0), Some(-1e-3)],
            &[6, 7],
            &[10, 9],
            &[true, false],
        ),
    ];
    use ColumnKind::{Factor, Int, Real};
    let requests = [
        ("g", Factor),
        ("y", Real),
        ("n", Int),
        ("size", Factor),
        ("flag", Factor),
    ];
    for stream in [false, true] {
        let arrow = write_batches(&format!("factors-{stream}.arrow"), &batches, stream);
        let options = [
            LoadOptions {
                drop_missing: true,
                filters: vec![],
            },
            LoadOptions {
                drop_missing: true,
                filters: vec![("flag".into(), "true".into()), ("size".into(), "10".into())],
            },
            LoadOptions {
                drop_missing: false,
                filters: vec![("g".into(), " a ".into())],
            },
        ];
        for opts in &options {
            let from_arrow = load(arrow.path(), &requests, opts);
            assert_eq!(from_arrow, load(csv.path(), &requests, opts), "{opts:?}");
        }
        let all = load(arrow.path(), &requests, &options[0]);
        let (_, levels) = all.column("g").unwrap().as_factor().unwrap();
        assert_eq!(levels, ["B", "a", "b"]);
        let (_, levels) = all.column("size").unwrap().as_factor().unwrap();
        assert_eq!(levels, ["9", "10"]);
        assert_eq!(all.n_dropped, 1);
        assert_eq!(all.source_rows.to_vec(), [1, 2, 4, 5]);
    }
}

#[test]
fn text_and_other_number_types_read_like_csv_cells() {
    // Text is parsed as a CSV cell would be: trimmed, with its markers.
    let arrow = write_arrow(
        "text.arrow",
        vec![
            (
                "x",
                Arc::new(LargeStringArray::from(vec![" 1.5", "NA", "2"])) as ArrayRef,
            ),
            (
                "y",
                Arc::new(Float32Array::from(vec![0.5f32, 1.25, -2.0])) as ArrayRef,
            ),
            ("g", texts(&[Some(" b "), Some("a"), Some("b")])),
        ],
    );
    let csv = write_csv("text.csv", "x,y,g\n 1.5,0.5, b \nNA,1.25,a\n2,-2,b\n");
    let requests = [
        ("x", ColumnKind::Real),
        ("y", ColumnKind::Int),
        ("g", ColumnKind::Factor),
    ];
    let opts = LoadOptions {
        drop_missing: true,
        filters: vec![],
    };
    // `y` is not whole in rows 1 and 2: the same error either way, but
    // with no file lines in Arrow.
    let err = |path: &str| try_load(path, &requests, &opts).unwrap_err().to_string();
    assert_eq!(
        err(arrow.path()),
        "error[E310]: integer column `y` has 2 values that are not whole numbers below 2^53 in size: row 1 `0.5`, row 2 `1.25`"
    );
    assert_eq!(
        err(csv.path()),
        "error[E310]: integer column `y` has 2 values that are not whole numbers below 2^53 in size: row 1 (file line 2) `0.5`, \
         row 2 (file line 3) `1.25`"
    );
    let requests = [("x", ColumnKind::Real), ("g", ColumnKind::Factor)];
    assert_eq!(
        load(arrow.path(), &requests, &opts),
        load(csv.path(), &requests, &opts)
    );
}

#[test]
fn nulls_are_missing_values_named_by_row() {
    let arrow = write_arrow(
        "nulls.arrow",
        vec![
            ("x", f64s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0].map(Some))),
            (
                "y",
                f64s(&[
                    Some(2.1),
                    None,
                    Some(6.2),
                    Some(f64::NAN),
                    Some(9.8),
                    Some(12.3),
                ]),
            ),
        ],
    );
    let text = run(&["fit", "tests/fixtures/linear.nll", "--data", arrow.path()]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains("error[E307]: column `y` has 2 missing values: row 2 `null`, row 4 `NaN`"),
        "{text}"
    );
    assert!(
        text.contains(&format!("In data file `{}`", arrow.path())),
        "{text}"
    );
    assert!(text.contains("--drop-missing"), "{text}");

    let text = stdout_ok(&[
        "fit",
        "tests/fixtures/linear.nll",
        "--data",
        arrow.path(),
        "--drop-missing",
    ]);
    assert!(text.contains("rows dropped     2"), "{text}");
}

#[test]
fn a_missing_column_is_named_with_a_suggestion() {
    let arrow = write_arrow(
        "columns.arrow",
        vec![
            ("x", f64s(&[Some(1.0), Some(2.0)])),
            ("Z", f64s(&[Some(2.0), Some(3.0)])),
        ],
    );
    let text = run(&[
        "fit",
        "tests/fixtures/missing_column.nll",
        "--data",
        arrow.path(),
    ]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains(&format!(
            "error[E305]: column `z` is not in `{}`, whose columns are `x` and `Z`",
            arrow.path()
        )),
        "{text}"
    );
    assert!(text.contains("Did you mean `Z`?"), "{text}");
}

#[test]
fn corrupt_and_truncated_files_are_errors_not_panics() {
    let good = std::fs::read(repo_path("tests/fixtures/xy.arrow")).unwrap();
    let cases = [
        ("truncated.arrow", good[..good.len() / 2].to_vec()),
        ("short.arrow", b"ARR".to_vec()),
        ("text.arrow", b"x,y\n1,2\n".to_vec()),
        ("garbage.arrow", {
            let mut bytes = good.clone();
            for byte in &mut bytes[8..good.len() - 10] {
                *byte = byte.wrapping_mul(31).wrapping_add(7);
            }
            bytes
        }),
        ("cut.arrows", {
            let mut bytes = vec![0xFF; 4];
            bytes.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3]);
            bytes
        }),
    ];
    for (name, bytes) in cases {
        let path = temp_path(name);
        std::fs::write(&path, bytes).unwrap();
        let file = TempFile(path);
        let text = run(&["fit", "tests/fixtures/linear.nll", "--data", file.path()]);
        assert!(text.starts_with("exit: 1"), "{name}: {text}");
        assert!(
            text.contains(&format!("error[E301]: cannot read `{}`", file.path())),
            "{name}: {text}"
        );
        assert!(!text.contains("panicked"), "{name}: {text}");
    }
}

/// `nll fit` of the Poisson model with an `int` column `count` on an Arrow
/// file holding `count` beside x = 1, 2, ...
fn fit_counts(name: &str, count: ArrayRef) -> String {
    let x: Vec<Option<f64>> = (1..=count.len()).map(|i| Some(i as f64)).collect();
    let arrow = write_arrow(name, vec![("x", f64s(&x)), ("count", count)]);
    run(&[
        "fit",
        "tests/fixtures/poisson_int.nll",
        "--data",
        arrow.path(),
    ])
}

#[test]
fn int_columns_want_whole_numbers() {
    let text = fit_counts("counts.arrow", f64s(&[Some(3.0), Some(2.5), Some(4.0)]));
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains("error[E310]: integer column `count` has 1 value that is not a whole number below 2^53 in size: row 2 `2.5`"),
        "{text}"
    );
    // A whole number from 2^53 on is not held exactly: rejected like the
    // same text in a CSV, also where the column is otherwise clean (read
    // at once rather than cell by cell).
    let text = fit_counts(
        "big_counts.arrow",
        Arc::new(Int64Array::from(vec![3, 1 << 53])) as ArrayRef,
    );
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains(
            "error[E310]: integer column `count` has 1 value that is not a whole number below 2^53 in size: row 2 `9007199254740992`"
        ),
        "{text}"
    );
}

#[test]
fn int_values_beyond_2_53_are_quoted_as_written() {
    // 2^53 + 1 has no f64: read as one it would be quoted as 2^53, and
    // u64::MAX as 18446744073709552000.
    let text = fit_counts(
        "beyond_2_53.arrow",
        Arc::new(Int64Array::from(vec![
            3,
            9_007_199_254_740_993,
            -9_007_199_254_740_993,
        ])) as ArrayRef,
    );
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(
        text.contains(
            "error[E310]: integer column `count` has 2 values that are not whole numbers below 2^53 in size: row 2 `9007199254740993`, row 3 `-9007199254740993`"
        ),
        "{text}"
    );
    let text = fit_counts(
        "beyond_2_53_unsigned.arrow",
        Arc::new(UInt64Array::from(vec![3, u64::MAX])) as ArrayRef,
    );
    assert!(text.contains("row 2 `18446744073709551615`"), "{text}");
}

#[test]
fn a_column_of_another_type_is_named_with_its_type() {
    let mut list = ListBuilder::new(arrow_array::builder::Int64Builder::new());
    list.values().append_value(1);
    list.append(true);
    list.values().append_value(2);
    list.append(true);
    let arrow = write_arrow(
        "list.arrow",
        vec![
            ("x", f64s(&[Some(1.0), Some(2.0)])),
            ("y", Arc::new(list.finish()) as ArrayRef),
        ],
    );
    let text = run(&["fit", "tests/fixtures/linear.nll", "--data", arrow.path()]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(text.contains("error[E313]: column `y` of `"), "{text}");
    assert!(text.contains("has type List("), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

/// Several batches of uneven sizes, most spanning many memory pages: the
/// pages of each batch of a mapped file are given back once it is read, and
/// the next batch starts on a page the last one shares.
#[test]
fn a_large_float_column_is_read_whole() {
    let n: usize = 200_000;
    let x: Vec<f64> = (0..n).map(|i| i as f64 / 7.0).collect();
    let y: Vec<i64> = (0..n as i64).map(|i| i % 3).collect();
    let cuts = [0, 1000, 50_001, 50_002, 120_000, n];
    let batches: Vec<Vec<(&str, ArrayRef)>> = cuts
        .windows(2)
        .map(|w| {
            let (a, b) = (w[0], w[1]);
            vec![
                (
                    "x",
                    Arc::new(Float64Array::from(x[a..b].to_vec())) as ArrayRef,
                ),
                (
                    "y",
                    Arc::new(arrow_array::PrimitiveArray::<Int64Type>::from(
                        y[a..b].to_vec(),
                    )) as ArrayRef,
                ),
            ]
        })
        .collect();
    let arrow = write_batches("large.arrow", &batches, false);
    let data = load(
        arrow.path(),
        &[("x", ColumnKind::Real), ("y", ColumnKind::Int)],
        &LoadOptions::default(),
    );
    assert_eq!(data.n_rows, n);
    assert_eq!(data.column("x").unwrap().as_real().unwrap(), &x[..]);
    let y: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    assert_eq!(data.column("y").unwrap().as_real().unwrap(), &y[..]);
    assert_eq!(data.source_rows.last(), Some(n));
}

/// 64-bit integers above 2^53 have no exact f64: as factor levels and in
/// filters they are read in full, as the CSV file's digits would be.
#[test]
fn large_integer_identifiers_stay_distinct_levels() {
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![
        9_007_199_254_740_992,
        9_007_199_254_740_993,
        3,
    ]));
    let arrow = write_arrow("bigint.arrow", vec![("id", ids)]);
    let csv = write_csv("bigint.csv", "id\n9007199254740992\n9007199254740993\n3\n");
    let requests = [("id", ColumnKind::Factor)];
    let from_arrow = load(arrow.path(), &requests, &LoadOptions::default());
    let from_csv = load(csv.path(), &requests, &LoadOptions::default());
    assert_eq!(from_arrow.columns, from_csv.columns);
    let (_, levels) = from_arrow.column("id").unwrap().as_factor().unwrap();
    assert_eq!(levels.len(), 3, "{levels:?}");

    let opts = LoadOptions {
        filters: vec![("id".to_string(), "9007199254740993".to_string())],
        ..LoadOptions::default()
    };
    let kept = load(arrow.path(), &requests, &opts);
    assert_eq!(kept.n_rows, 1);
}

/// A boolean column is a binary outcome's 1 and 0: a logistic fit on it
/// gives the same estimates as on the CSV file with 1 and 0.
#[test]
fn a_boolean_column_is_a_binary_outcome() {
    let x: Vec<f64> = (0..40).map(|i| f64::from(i) / 10.0).collect();
    // not separable: the outcomes flip back and forth around x = 2
    let y: Vec<bool> = x
        .iter()
        .enumerate()
        .map(|(i, v)| (*v > 2.0) != (i % 5 == 0))
        .collect();
    let batch = vec![
        ("x", f64s(&x.iter().map(|v| Some(*v)).collect::<Vec<_>>())),
        ("y", Arc::new(BooleanArray::from(y.clone())) as ArrayRef),
    ];
    let arrow = write_batches("boolean-outcome.arrow", &[batch], false);
    let csv = TempFile(temp_path("boolean-outcome.csv"));
    let rows: String = x
        .iter()
        .zip(&y)
        .map(|(x, y)| format!("{x},{}\n", u8::from(*y)))
        .collect();
    std::fs::write(&csv.0, format!("x,y\n{rows}")).unwrap();
    let model = TempFile(temp_path("boolean-outcome.nll"));
    std::fs::write(
        &model.0,
        "data x, y\nparam a, b\ny ~ Bernoulli(logistic(a + b * x))\n",
    )
    .unwrap();
    let fit = |data: &str| {
        let v = crate::cli::fit_json(&[model.path(), "--data", data]);
        assert_eq!(v["converged"], true, "{v}");
        v["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["estimate"].as_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    assert_eq!(fit(arrow.path()), fit(csv.path()));
}

/// A compressed Arrow file (written by pyarrow with ZSTD; this reader has
/// no codecs) is refused with what it is and what to do, not with the
/// name of a build feature.
#[test]
fn a_compressed_file_is_refused_plainly() {
    let text = run(&[
        "fit",
        "tests/fixtures/y_mean.nll",
        "--data",
        "tests/fixtures/compressed_zstd.arrow",
    ]);
    assert!(text.starts_with("exit: 1"), "{text}");
    assert!(text.contains("error[E301]"), "{text}");
    assert!(
        text.contains("compressed Arrow files are not read"),
        "{text}"
    );
    assert!(!text.contains("feature"), "{text}");
}
