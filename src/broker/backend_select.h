/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Backend choice by name. Only this file knows which backends exist; the
 * rest of the broker sees struct backend.
 */
#ifndef VB_BROKER_BACKEND_SELECT_H
#define VB_BROKER_BACKEND_SELECT_H

#include <stdbool.h>

#include "broker/backend.h"

/*
 * "auto" picks the best available backend and logs why: sim when the
 * configuration's devices are sim devices (@sim_devices), else the best
 * kernel backend the probe finds. A named backend that is unknown
 * (-EINVAL) or not available here (-ENODEV) is an error.
 */
int backend_select(const char *name, bool sim_devices, struct backend **out);

#endif /* VB_BROKER_BACKEND_SELECT_H */
