/* AclAPI.h - the same as <aclapi.h> (Windows file names are case-insensitive). */
#include "aclapi.h"
