// Package scaleout holds the tests of Hashdrop's scaled-out mode: several
// hashdropd processes on one PostgreSQL database and one blob store, driven
// over real HTTP, proving that every quota, counter, token rule and rate
// limit holds across instances and that losing an instance loses nothing
// for the others. They need HASHDROP_TEST_POSTGRES_DSN and skip without it
// (fail, when HASHDROP_TEST_REQUIRE lists postgres).
package scaleout
