#ifndef XGPIOPS_H
#define XGPIOPS_H
#include "xil_types.h"
typedef struct { u16 DeviceId; UINTPTR BaseAddr; } XGpioPs_Config;
typedef struct { XGpioPs_Config GpioConfig; u32 IsReady; } XGpioPs;
XGpioPs_Config *XGpioPs_LookupConfig(u16 DeviceId);
s32 XGpioPs_CfgInitialize(XGpioPs *InstancePtr, const XGpioPs_Config *ConfigPtr, u32 EffectiveAddr);
void XGpioPs_WritePin(const XGpioPs *InstancePtr, u32 Pin, u32 Data);
void XGpioPs_SetDirectionPin(const XGpioPs *InstancePtr, u32 Pin, u32 Direction);
void XGpioPs_SetOutputEnablePin(const XGpioPs *InstancePtr, u32 Pin, u32 OpEnable);
#endif
