// Package dataset generates the data sets of crmaccess's benchmarks, spread
// as a CRM has them: 1,000 users; opportunities, a tenth of them private and
// open to a few users each, every one with a creator and a responsible user;
// and contacts with tags, stages and types for the filter rows. Everything
// is deterministic (fixed seeds), so two runs measure the same data.
//
// The harness (go run ./bench) and the go test benchmarks both use it.
package dataset
