package main

import "time"

// Results is everything one run measured. It is written as JSON so runs can
// be compared with each other and the Markdown report is generated from it.
type Results struct {
	Machine  Machine          `json:"machine"`
	Settings Settings         `json:"settings"`
	Format   *FormatResults   `json:"format,omitempty"`
	Transfer *TransferResults `json:"transfer,omitempty"`
	API      []APIResults     `json:"api,omitempty"`
	Goals    []Goal           `json:"goals"`
	Notes    []string         `json:"notes,omitempty"`
	Elapsed  Seconds          `json:"elapsed_seconds"`
}

// Settings records the knobs of the run, so two JSON files can be checked for
// comparability before their numbers are.
type Settings struct {
	Quick       bool     `json:"quick"`
	FormatSize  int64    `json:"format_size_bytes"`
	FormatReps  int      `json:"format_reps"`
	Sizes       []int64  `json:"transfer_sizes_bytes"`
	Concurrency []int    `json:"api_concurrency"`
	Duration    Seconds  `json:"api_duration_seconds"`
	Warmup      Seconds  `json:"api_warmup_seconds"`
	Skipped     []string `json:"skipped,omitempty"`
	AgeVersion  string   `json:"age_version,omitempty"`
}

// Seconds is a duration that marshals as fractional seconds.
type Seconds float64

// secondsOf converts a duration.
func secondsOf(d time.Duration) Seconds { return Seconds(d.Seconds()) }

// Machine identifies where and on what code the run happened.
type Machine struct {
	CPU        string    `json:"cpu"`
	Cores      int       `json:"cores"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	MemoryMiB  int64     `json:"memory_mib"`
	OS         string    `json:"os"`
	Kernel     string    `json:"kernel,omitempty"`
	GoVersion  string    `json:"go_version"`
	Commit     string    `json:"commit"`
	Dirty      bool      `json:"dirty"`
	Date       time.Time `json:"date"`
	AESNI      bool      `json:"aes_ni"`
	LoadAvg    string    `json:"load_average_at_start,omitempty"`
}

// FormatResults is section 1: throughput over one file in the page cache.
type FormatResults struct {
	SizeBytes int64        `json:"size_bytes"`
	Rows      []Throughput `json:"rows"`
}

// Throughput is one measured way of processing the same bytes. GBps is the
// best of Runs (the run least disturbed by other load on the machine).
type Throughput struct {
	Name    string    `json:"name"`
	Detail  string    `json:"detail"`
	Bytes   int64     `json:"bytes"`
	Runs    []Seconds `json:"runs_seconds"`
	GBps    float64   `json:"gb_per_s"` // 10^9 bytes per second, best run
	Workers int       `json:"workers"`
}

// TransferResults is section 2: the CLI against curl through one hashdropd.
type TransferResults struct {
	Sizes []TransferSize `json:"sizes"`
}

// TransferSize holds the four transfers of one file size.
type TransferSize struct {
	SizeBytes   int64         `json:"size_bytes"`
	CLIUpload   TransferRun   `json:"cli_upload"`
	CLIDownload TransferRun   `json:"cli_download"`
	RawUpload   TransferRun   `json:"raw_upload"`
	RawDownload TransferRun   `json:"raw_download"`
	UploadRatio float64       `json:"upload_ratio"`   // CLI / raw throughput
	DownRatio   float64       `json:"download_ratio"` // CLI / raw throughput
	ServerPeak  int64         `json:"server_peak_rss_bytes"`
	Extra       []TransferRun `json:"extra,omitempty"`
}

// TransferRun is one process moving one file, best of Runs.
type TransferRun struct {
	Tool          string    `json:"tool"`
	Runs          []Seconds `json:"runs_seconds"`
	Best          Seconds   `json:"best_seconds"`
	MBps          float64   `json:"mb_per_s"` // 10^6 plaintext bytes per second, best run
	PeakRSS       int64     `json:"peak_rss_bytes"`
	CPU           Seconds   `json:"cpu_seconds_of_best"` // user + system of the best run
	ServerPeakRSS int64     `json:"server_peak_rss_bytes"`
	WireBytes     int64     `json:"wire_bytes"`
}

// APIResults is section 3 for one metadata backend.
type APIResults struct {
	Backend   string       `json:"backend"` // sqlite or postgres
	Endpoints []LoadSeries `json:"endpoints"`
}

// LoadSeries is one endpoint measured at every concurrency.
type LoadSeries struct {
	Name   string      `json:"name"`
	What   string      `json:"what"`
	Points []LoadPoint `json:"points"`
}

// LoadPoint is one fixed-duration closed-loop run.
type LoadPoint struct {
	Concurrency int     `json:"concurrency"`
	Ops         int64   `json:"ops"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     Seconds `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// RatioToBare is OpsPerSec over the bare handler's at the same
	// concurrency (0 for the bare handler itself).
	RatioToBare float64 `json:"ratio_to_bare,omitempty"`
}

// Goal is one target from the benchmark issue, checked against this run.
type Goal struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Actual string `json:"actual"`
	Met    bool   `json:"met"`
	// Measured is false when the section it depends on was skipped.
	Measured bool `json:"measured"`
}
