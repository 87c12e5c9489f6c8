/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the order statistics the benchmark programs print: doubles
 * sorted ascending, and the median of a sample (which it sorts in place).
 */
#ifndef KVMEM_BENCH_STATS_H
#define KVMEM_BENCH_STATS_H

#include <stdlib.h>

/* qsort() comparator: doubles, ascending. */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of @v[0..@n), @n > 0; sorts @v. */
static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* KVMEM_BENCH_STATS_H */
