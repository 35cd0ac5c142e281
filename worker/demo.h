/*
 * demo.h: POST /demo/token, GET /demo/users and /demo/admins (demo.c),
 * only with --demo-users or --demo-admins.
 */
#ifndef PGCALL_DEMO_H
#define PGCALL_DEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "request.h"

void		demo_init(const struct config *cfg);
bool		demo_enabled(void);
void		demo_token(struct reply *r, const char *body, size_t len);
void		demo_users(struct reply *r, bool admins);

#endif							/* PGCALL_DEMO_H */
