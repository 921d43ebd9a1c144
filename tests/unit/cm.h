/* cm.h - cmocka's includes in the order it needs them. */
#ifndef VR_TEST_CM_H
#define VR_TEST_CM_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
