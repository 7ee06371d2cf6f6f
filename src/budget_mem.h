/*
 * budget_mem: the in-process budget store (the default): the same
 * counters, leases and stored ceilings as the Redis store, in memory
 * under one mutex, on the options' clock. Nothing outlives the process.
 */
#ifndef TOKMUX_BUDGET_MEM_H
#define TOKMUX_BUDGET_MEM_H

#include "budget.h"

/* o: with defaults filled in (budget_defaults). */
void *budget_mem_new(const struct budget_options *o);
extern const struct budget_ops budget_mem_ops;

#endif
