/* Tchar.h - the same as <tchar.h>: Windows file names are case-insensitive, Linux ones are not,
 * and published sources spell it this way. */
#include "tchar.h"
