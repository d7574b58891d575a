//! Data of the NIST StRD nonlinear regression problems used in the tests:
//! observations, starting values and certified values, copied from the
//! NIST `.dat` files named above each array.

use super::nist_tests::*;

/// One NIST problem.
pub(super) struct Problem {
    pub name: &'static str,
    pub x: &'static [f64],
    pub y: &'static [f64],
    pub model: Model,
    pub start1: &'static [f64],
    pub start2: &'static [f64],
    pub certified: &'static [f64],
    pub rss: f64,
}

/// Misra1a: NIST StRD, file nonlinear/Misra1a.dat (data lines 61-74, columns y x).
const MISRA1A_X: [f64; 14] = [
    77.6E0, 114.9E0, 141.1E0, 190.8E0, 239.9E0, 289.0E0, 332.8E0, 378.4E0, 434.8E0, 477.3E0,
    536.8E0, 593.1E0, 689.1E0, 760.0E0,
];
const MISRA1A_Y: [f64; 14] = [
    10.07E0, 14.73E0, 17.94E0, 23.93E0, 29.61E0, 35.18E0, 40.02E0, 44.82E0, 50.76E0, 55.05E0,
    61.01E0, 66.40E0, 75.47E0, 81.78E0,
];
/// BoxBOD: NIST StRD, file nonlinear/BoxBOD.dat (data lines 61-66, columns y x).
const BOXBOD_X: [f64; 6] = [1.0, 2.0, 3.0, 5.0, 7.0, 10.0];
const BOXBOD_Y: [f64; 6] = [109.0, 149.0, 149.0, 191.0, 213.0, 224.0];
/// MGH09: NIST StRD, file nonlinear/MGH09.dat (data lines 61-71, columns y x).
const MGH09_X: [f64; 11] = [
    4.000000E+00,
    2.000000E+00,
    1.000000E+00,
    5.000000E-01,
    2.500000E-01,
    1.670000E-01,
    1.250000E-01,
    1.000000E-01,
    8.330000E-02,
    7.140000E-02,
    6.250000E-02,
];
const MGH09_Y: [f64; 11] = [
    1.957000E-01,
    1.947000E-01,
    1.735000E-01,
    1.600000E-01,
    8.440000E-02,
    6.270000E-02,
    4.560000E-02,
    3.420000E-02,
    3.230000E-02,
    2.350000E-02,
    2.460000E-02,
];
/// Rat43: NIST StRD, file nonlinear/Rat43.dat (data lines 61-75, columns y x).
const RAT43_X: [f64; 15] = [
    1.0E0, 2.0E0, 3.0E0, 4.0E0, 5.0E0, 6.0E0, 7.0E0, 8.0E0, 9.0E0, 10.0E0, 11.0E0, 12.0E0, 13.0E0,
    14.0E0, 15.0E0,
];
const RAT43_Y: [f64; 15] = [
    16.08E0, 33.83E0, 65.80E0, 97.20E0, 191.55E0, 326.20E0, 386.87E0, 520.53E0, 590.03E0, 651.92E0,
    724.93E0, 699.56E0, 689.96E0, 637.56E0, 717.41E0,
];
/// Rat42: NIST StRD, file nonlinear/Rat42.dat (data lines 61-69, columns y x).
const RAT42_X: [f64; 9] = [
    9.000E0, 14.000E0, 21.000E0, 28.000E0, 42.000E0, 57.000E0, 63.000E0, 70.000E0, 79.000E0,
];
const RAT42_Y: [f64; 9] = [
    8.930E0, 10.800E0, 18.590E0, 22.330E0, 39.350E0, 56.110E0, 61.730E0, 64.620E0, 67.080E0,
];
/// MGH10: NIST StRD, file nonlinear/MGH10.dat (data lines 61-76, columns y x).
const MGH10_X: [f64; 16] = [
    5.000000E+01,
    5.500000E+01,
    6.000000E+01,
    6.500000E+01,
    7.000000E+01,
    7.500000E+01,
    8.000000E+01,
    8.500000E+01,
    9.000000E+01,
    9.500000E+01,
    1.000000E+02,
    1.050000E+02,
    1.100000E+02,
    1.150000E+02,
    1.200000E+02,
    1.250000E+02,
];
const MGH10_Y: [f64; 16] = [
    3.478000E+04,
    2.861000E+04,
    2.365000E+04,
    1.963000E+04,
    1.637000E+04,
    1.372000E+04,
    1.154000E+04,
    9.744000E+03,
    8.261000E+03,
    7.030000E+03,
    6.005000E+03,
    5.147000E+03,
    4.427000E+03,
    3.820000E+03,
    3.307000E+03,
    2.872000E+03,
];
/// Eckerle4: NIST StRD, file nonlinear/Eckerle4.dat (data lines 61-95, columns y x).
const ECKERLE4_X: [f64; 35] = [
    400.000000E0,
    405.000000E0,
    410.000000E0,
    415.000000E0,
    420.000000E0,
    425.000000E0,
    430.000000E0,
    435.000000E0,
    436.500000E0,
    438.000000E0,
    439.500000E0,
    441.000000E0,
    442.500000E0,
    444.000000E0,
    445.500000E0,
    447.000000E0,
    448.500000E0,
    450.000000E0,
    451.500000E0,
    453.000000E0,
    454.500000E0,
    456.000000E0,
    457.500000E0,
    459.000000E0,
    460.500000E0,
    462.000000E0,
    463.500000E0,
    465.000000E0,
    470.000000E0,
    475.000000E0,
    480.000000E0,
    485.000000E0,
    490.000000E0,
    495.000000E0,
    500.000000E0,
];
const ECKERLE4_Y: [f64; 35] = [
    0.0001575E0,
    0.0001699E0,
    0.0002350E0,
    0.0003102E0,
    0.0004917E0,
    0.0008710E0,
    0.0017418E0,
    0.0046400E0,
    0.0065895E0,
    0.0097302E0,
    0.0149002E0,
    0.0237310E0,
    0.0401683E0,
    0.0712559E0,
    0.1264458E0,
    0.2073413E0,
    0.2902366E0,
    0.3445623E0,
    0.3698049E0,
    0.3668534E0,
    0.3106727E0,
    0.2078154E0,
    0.1164354E0,
    0.0616764E0,
    0.0337200E0,
    0.0194023E0,
    0.0117831E0,
    0.0074357E0,
    0.0022732E0,
    0.0008800E0,
    0.0004579E0,
    0.0002345E0,
    0.0001586E0,
    0.0001143E0,
    0.0000710E0,
];
/// DanWood: NIST StRD, file nonlinear/DanWood.dat (data lines 61-66, columns y x).
const DANWOOD_X: [f64; 6] = [1.309E0, 1.471E0, 1.490E0, 1.565E0, 1.611E0, 1.680E0];
const DANWOOD_Y: [f64; 6] = [2.138E0, 3.421E0, 3.597E0, 4.340E0, 4.882E0, 5.660E0];

/// Starting and certified values as printed in each .dat file (lines 41-50).
pub(super) const PROBLEMS: [Problem; 8] = [
    Problem {
        name: "Misra1a",
        x: &MISRA1A_X,
        y: &MISRA1A_Y,
        model: exp_rise,
        start1: &[500.0, 1e-4],
        start2: &[250.0, 5e-4],
        certified: &[2.3894212918E+02, 5.5015643181E-04],
        rss: 1.2455138894E-01,
    },
    Problem {
        name: "BoxBOD",
        x: &BOXBOD_X,
        y: &BOXBOD_Y,
        model: exp_rise,
        start1: &[1.0, 1.0],
        start2: &[100.0, 0.75],
        certified: &[2.1380940889E+02, 5.4723748542E-01],
        rss: 1.1680088766E+03,
    },
    Problem {
        name: "MGH09",
        x: &MGH09_X,
        y: &MGH09_Y,
        model: mgh09,
        start1: &[25.0, 39.0, 41.5, 39.0],
        start2: &[0.25, 0.39, 0.415, 0.39],
        certified: &[
            1.9280693458E-01,
            1.9128232873E-01,
            1.2305650693E-01,
            1.3606233068E-01,
        ],
        rss: 3.0750560385E-04,
    },
    Problem {
        name: "Rat43",
        x: &RAT43_X,
        y: &RAT43_Y,
        model: rat43,
        start1: &[100.0, 10.0, 1.0, 1.0],
        start2: &[700.0, 5.0, 0.75, 1.3],
        certified: &[
            6.9964151270E+02,
            5.2771253025E+00,
            7.5962938329E-01,
            1.2792483859E+00,
        ],
        rss: 8.7864049080E+03,
    },
    Problem {
        name: "Rat42",
        x: &RAT42_X,
        y: &RAT42_Y,
        model: rat42,
        start1: &[100.0, 1.0, 0.1],
        start2: &[75.0, 2.5, 0.07],
        certified: &[7.2462237576E+01, 2.6180768402E+00, 6.7359200066E-02],
        rss: 8.0565229338E+00,
    },
    Problem {
        name: "MGH10",
        x: &MGH10_X,
        y: &MGH10_Y,
        model: mgh10,
        start1: &[2.0, 400000.0, 25000.0],
        start2: &[0.02, 4000.0, 250.0],
        certified: &[5.6096364710E-03, 6.1813463463E+03, 3.4522363462E+02],
        rss: 8.7945855171E+01,
    },
    Problem {
        name: "Eckerle4",
        x: &ECKERLE4_X,
        y: &ECKERLE4_Y,
        model: eckerle4,
        start1: &[1.0, 10.0, 500.0],
        start2: &[1.5, 5.0, 450.0],
        certified: &[1.5543827178E+00, 4.0888321754E+00, 4.5154121844E+02],
        rss: 1.4635887487E-03,
    },
    Problem {
        name: "DanWood",
        x: &DANWOOD_X,
        y: &DANWOOD_Y,
        model: danwood,
        start1: &[1.0, 5.0],
        start2: &[0.7, 4.0],
        certified: &[7.6886226176E-01, 3.8604055871E+00],
        rss: 4.3173084083E-03,
    },
];
