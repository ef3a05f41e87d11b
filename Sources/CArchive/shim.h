#ifndef FERRY_CARCHIVE_SHIM_H
#define FERRY_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
