# The worked example that is not LeNet (issue 14): the shipped ResNet .pt2 from the shell only -> reports/resnet-mnist
.PHONY: example-resnet

example-resnet: $(STAMP)
	PYCOMPRESS=$(BIN)/pycompress PYTHON=$(PY) examples/resnet_mnist/run.sh build/resnet-mnist reports/resnet-mnist
