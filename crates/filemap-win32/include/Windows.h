/* Windows.h - the same as <windows.h>: Windows file names are case-insensitive, Linux ones are not,
 * and published sources spell it this way. */
#include "windows.h"
