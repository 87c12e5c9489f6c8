/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the deterministic fuzz tests share: a seeded PRNG
 * (splitmix64, so a seed names one exact run), the seed from KVMEM_SEED or a
 * fixed default, a printable escape of arbitrary bytes for reproducers, and
 * a FAIL() that reports and exits 1 (plain C tests: 0 pass, 77 skip,
 * anything else fail).
 */
#ifndef KVMEM_TESTS_FUZZ_H
#define KVMEM_TESTS_FUZZ_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Sanitizer builds run each case several times slower: they get this
 * fraction of the default case count (the seeds and checks are the same).
 */
#if defined(__SANITIZE_ADDRESS__)
#define FZ_SCALE(n)	((n) * 2 / 5)
#else
#define FZ_SCALE(n)	(n)
#endif

static uint64_t fz_state;

static inline uint64_t fz_next(void)
{
	uint64_t z = (fz_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the modulo bias is irrelevant here). */
static inline uint64_t fz_below(uint64_t n)
{
	return fz_next() % n;
}

/* The seed of this run: KVMEM_SEED if set, else @def; printed. */
static inline uint64_t fz_seed(const char *prog, uint64_t def)
{
	const char *s = getenv("KVMEM_SEED");
	uint64_t seed = s && *s ? strtoull(s, NULL, 0) : def;

	printf("%s: seed %" PRIu64 " (KVMEM_SEED=N to rerun another)\n",
	       prog, seed);
	fflush(stdout);
	return seed;
}

/* @len bytes of @s as a C string literal body into @out (size >= 4*len+1). */
static inline void fz_escape(const unsigned char *s, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '\\' || c == '"') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			*o++ = (char)c;
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
}

#define FAIL(...) do {							\
	fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);		\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	fz_on_fail();							\
	exit(1);							\
} while (0)

#define CHECK(c, fmt, ...) do {					\
	if (!(c))							\
		FAIL("%s: " fmt, #c, ##__VA_ARGS__);			\
} while (0)

/* Each test defines this: print what reproduces the failure. */
static void fz_on_fail(void);

#endif
