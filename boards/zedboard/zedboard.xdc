# ZedBoard user LEDs driven by the Zynq PS through EMIO GPIO (pycompress block design port `leds`).
# leds[0] = LD0 "done" (all test images classified), leds[1] = LD1 "error" (DMA error, timeout or wrong class count).
# Pins from the ZedBoard Hardware User's Guide (LD0..LD7 = T22 T21 U22 U21 V22 W22 U19 U14), bank 33, 3.3 V.
# The PL clock (FCLK_CLK0, 100 MHz) and the PS7 DDR/MIO pins are constrained by the PS7 IP itself.
set_property -dict {PACKAGE_PIN T22 IOSTANDARD LVCMOS33} [get_ports {leds[0]}]
set_property -dict {PACKAGE_PIN T21 IOSTANDARD LVCMOS33} [get_ports {leds[1]}]
