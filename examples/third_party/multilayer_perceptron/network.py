# ruff: noqa
# Third-party code: multilayer-perceptron-from-scratch 0.1.4 as published on PyPI (pip download --no-deps multilayer-perceptron-from-scratch==0.1.4, the wheel), by Nehorai Yosef, MIT
# (see LICENSE beside this file). This module is the package's multilayer_perceptron/network.py, unchanged.
import numpy as np

class Network(object):

    def __init__(self, layer_sizes):
        # 1. Store the total number of layers in the network
        self.num_layers = len(layer_sizes)
        
        # 2. Store the list of sizes (number of neurons) for each layer
        self.layer_sizes = layer_sizes
        
        # 3. Initialize biases for each layer except the input layer
        # Biases are random numbers from a Gaussian distribution (mean 0, variance 1)
        self.biases = []
        current_layer_list = layer_sizes[1:]  # All layers except the input layer
        for current_layer_size in current_layer_list:
            # Generate a column vector of random biases for 'current_layer_size' neurons
            layer_bias = np.random.randn(current_layer_size, 1)
            self.biases.append(layer_bias)
        
        # 4. Initialize weights connecting each pair of adjacent layers
        # Weights are also random numbers from a Gaussian distribution
        self.weights = []
        # Zip pairs the sizes of the current layer (x) and the next layer (y)
        current_layer_list = layer_sizes[:-1]  # All layers except the last one
        next_layer_list = layer_sizes[1:]      # All layers except the first one
        for current_layer_size, next_layer_size in zip(current_layer_list, next_layer_list):
            # Create a matrix of weights with dimensions (next_layer, current_layer)
            # This shape allows for easy matrix multiplication during feedforward
            layer_weights = np.random.randn(next_layer_size, current_layer_size)
            self.weights.append(layer_weights)
            
    def print_weights(self):
        """
        Prints the weight matrices of the network in a formatted way.
        Each matrix is printed with 5 decimal places.
        """
        # Set Numpy print options for consistent formatting and 5 decimal precision
        np.set_printoptions(precision=5, suppress=True)
        
        print("--- Network Weight Matrices ---")
        
        # Iterate through the weights list and print each layer's matrix
        for i, weight_matrix in enumerate(self.weights):
            # The first connection is always from Input to Layer 1
            if i == 0:
                from_layer = "Input"
                to_layer = "1"
            else:
                from_layer = str(i)
                to_layer = str(i + 1)
                
            print(f"\nWeights connecting {from_layer} layer to Layer {to_layer}:")
            print(weight_matrix)
        
        print("\n-------------------------------")
        
    def print_biases(self):
        """
        Prints the bias vectors of the network in a formatted way.
        Each vector is printed with 5 decimal places.
        """
        # Set Numpy print options for 5 decimal precision
        np.set_printoptions(precision=5, suppress=True)
        
        print("\n--- Network Bias Vectors ---")
        
        # Iterate through the biases list
        for i, bias_vector in enumerate(self.biases):
            # The first bias vector belongs to the first hidden layer (Layer 1)
            # Since i starts at 0, Layer index is i + 1
            print(f"\nBiases for Layer {i + 1}:")
            print(bias_vector)
            
        print("\n----------------------------")

    def sigmoid(self, z):
        """
        The sigmoid function.
        Calculates the activation level of a neuron.
        """
        return 1.0 / (1.0 + np.exp(-z))

    def feedforward(self, x):
        """
        Return a tuple (a, list_of_activations, list_of_weighted_inputs).
        'a' is the final output, and the lists contain the data for each layer.
        """
        # 1. Start with the input 'x' as the initial activation 'a'
        a = x
        
        # 2. Initialize the lists with the input layer data
        # Note: list_of_weighted_inputs is empty at the start because the input layer has no 'z'
        list_of_activations = [x]
        list_of_weighted_inputs = []
        
        # 3. Iterate through each layer's weights and biases
        for b, w in zip(self.biases, self.weights):
            
            # 4. Compute the linear combination: z = (w * a) + b
            z = np.dot(w, a) + b
            list_of_weighted_inputs.append(z)
            
            # 5. Apply the sigmoid activation function to update 'a'
            a = self.sigmoid(z)
            list_of_activations.append(a)
            
        # 6. Return the final output 'a' and the two historical lists
        return a, list_of_activations, list_of_weighted_inputs
    
    def sigmoid_prime(self, z):
        """
        Derivative of the sigmoid function.
        Calculates the slope of the activation function at point z.
        """
        return self.sigmoid(z) * (1 - self.sigmoid(z))

    def backprop(self, x, y):
        """
        Return a tuple (d_c_d_b, d_c_d_w) representing the gradient for the cost function.
        Calculates the required changes for biases and weights using the 4 fundamental equations.
        """
        # 1. Initialize gradient containers with zeros (matching the shape of biases and weights)
        d_c_d_b = [np.zeros(b.shape) for b in self.biases]
        d_c_d_w = [np.zeros(w.shape) for w in self.weights]

        # 2. Feedforward Step:
        # Use our updated feedforward to get the final output and history of all layers
        output, list_of_activations, list_of_weighted_inputs = self.feedforward(x)

        # 3. Output Layer Error (Equation BP1): Compute 'last_layer_delta'
        # For MSE cost (without division by 2), the derivative dC/da is 2 * (a - y)
        final_activation = list_of_activations[-1]
        cost_derivative = 2 * (final_activation - y)
        
        # Get the weighted input of the last layer
        last_z = list_of_weighted_inputs[-1]
        
        # Combine cost derivative and sigmoid derivative to get the error (delta)
        last_layer_delta = cost_derivative * self.sigmoid_prime(last_z)
        
        # 4. Store Gradients for the Output Layer
        # The error is directly the gradient for the bias
        delta = last_layer_delta
        d_c_d_b[-1] = delta
        
        # The weight gradient is the error multiplied by the activation of the layer before it
        # We use transpose to align dimensions for matrix multiplication
        previous_activations = list_of_activations[-2]
        d_c_d_w[-1] = np.dot(delta, previous_activations.transpose())

        # 5. Backpropagate the Error (Equations BP2, BP3, BP4)
        # We start from l=2 (second-to-last layer) and move backwards to the first hidden layer
        for l in range(2, self.num_layers):
            
            # --- STEP A: Get weighted input for the current layer ---
            current_z = list_of_weighted_inputs[-l]
            
            # --- STEP B: Calculate the derivative of the activation function ---
            activation_derivative = self.sigmoid_prime(current_z)
            
            # --- STEP C: Get weights connecting this layer to the layer on its right ---
            # We need the weights of the connection we already processed
            weights_to_next_layer = self.weights[-l+1]
            weights_transposed = weights_to_next_layer.transpose()
            
            # --- STEP D: Transfer the error from the next layer to this layer (Equation BP2) ---
            # 1. See how much each neuron contributed to the next layer's error
            error_from_next_layer = np.dot(weights_transposed, delta)
            
            # 2. Filter the error through the sigmoid derivative of the current layer
            delta = error_from_next_layer * activation_derivative
            
            # --- STEP E: Store the calculated gradients (Equations BP3 & BP4) ---
            
            # Store bias gradient for this layer
            d_c_d_b[-l] = delta
            
            # Calculate and store weight gradient
            # This uses the error of the current layer and activations of the layer to its left
            layer_to_the_left_activations = list_of_activations[-l-1]
            activations_transposed = layer_to_the_left_activations.transpose()
            
            d_c_d_w[-l] = np.dot(delta, activations_transposed)

        return (d_c_d_b, d_c_d_w)

    def update_network(self, x, y, learning_rate):
        """
        Update the network's weights and biases using a single training example (x, y).
        This implements the core Stochastic Gradient Descent step.
        """
        
        # 1. Calculate the gradients for this specific example using Backpropagation
        # d_c_d_b and d_c_d_w are lists of gradients for each layer
        d_c_d_b, d_c_d_w = self.backprop(x, y)
        
        # 2. Update Biases:
        # We iterate through the network's bias vectors and apply the update
        for i in range(len(self.biases)):
            # Formula: new_bias = old_bias - (learning_rate * gradient)
            # We subtract because we want to move against the gradient (towards the minimum cost)
            self.biases[i] = self.biases[i] - (learning_rate * d_c_d_b[i])
            
        # 3. Update Weights:
        # We iterate through the network's weight matrices and apply the update
        for i in range(len(self.weights)):
            # Formula: new_weight = old_weight - (learning_rate * gradient)
            self.weights[i] = self.weights[i] - (learning_rate * d_c_d_w[i])

    def SGD(self, training_data, epochs, learning_rate):
        """
        Train the neural network using stochastic gradient descent with shuffling.
        'training_data' is a list of tuples (x, y).
        """
        n = len(training_data)
        
        for j in range(epochs):
            # Shuffle the data at the beginning of each epoch
            np.random.shuffle(training_data)
            
            total_loss = 0
            correct = 0
            
            for x, y in training_data:
                # Forward pass to calculate loss and accuracy before update
                output, _, _ = self.feedforward(x)
                
                # Calculate Mean Squared Error loss
                total_loss += np.sum((output - y)**2)
                
                # Calculate binary accuracy (threshold at 0.5)
                prediction = 1.0 if output >= 0.5 else 0.0
                if prediction == y[0][0]:
                    correct += 1
                
                # Update weights and biases using backpropagation
                self.update_network(x, y, learning_rate)
            
            # Print progress every 100 epochs and at the final epoch
            if j % 100 == 0 or j == epochs - 1:
                accuracy = (correct / n) * 100
                avg_loss = total_loss / n
                print(f"Epoch {j:4}: Loss = {avg_loss:.4f}, Accuracy = {accuracy:.1f}%")

if __name__ == "__main__":
    pass